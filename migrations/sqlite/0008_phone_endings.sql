-- The console finds a customer by the last digits of the phone, what a caller reads out:
-- an index of each phone's last four characters, so that the search reads a few entries
-- rather than every customer (rewards/ledger/search.py, bench/customers.py).
CREATE INDEX users_by_phone_ending ON users (substr(phone, length(phone) - 3));
