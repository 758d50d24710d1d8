"""What every route shares: who is calling (guards.py), what was sent (validation.py), and the
API's own description (docs.py)."""
