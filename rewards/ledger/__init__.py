"""The ledger: the one writer of balances (service.py) and the wallet routes (routes.py)."""
