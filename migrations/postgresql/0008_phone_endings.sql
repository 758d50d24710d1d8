-- The console's search by the last digits of a phone (see migrations/sqlite/0008): an index of
-- each phone's last four characters.
CREATE INDEX users_by_phone_ending ON users ((substr(phone, length(phone) - 3)));
