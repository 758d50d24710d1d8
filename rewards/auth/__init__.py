"""Phone login: one-time codes (otp.py), their delivery (delivery.py), access tokens (tokens.py)
and the routes (routes.py)."""
