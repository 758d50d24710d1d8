"""The WSGI entry point: `gunicorn app:app` and `flask --app app ...` both load `app`."""

import sys

from rewards import create_app
from rewards.config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    # One clear line, not a traceback. Exit status 4 is gunicorn's "app failed to load": the
    # master stops instead of respawning workers that can never boot.
    print(f"rewards: refusing to start: {error}", file=sys.stderr)
    raise SystemExit(4) from None
