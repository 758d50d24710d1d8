"""Coupons: tokens (tokens.py), batches (batches.py) and the operator's routes (routes.py)."""
