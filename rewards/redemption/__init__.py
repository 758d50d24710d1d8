"""Redemption: the exactly-once scan (service.py) and POST /scan (routes.py)."""
