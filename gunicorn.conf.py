"""gunicorn's defaults for rewards. `-b` and `-w` on the command line override these."""

import multiprocessing
import os

bind = f"{os.environ.get('GUNICORN_HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"

# Sync workers: a request holds its worker while SQLite commits, so throughput scales with
# processes, not threads. 2 per core plus one keeps a core busy while another worker waits on
# fsync; more mostly adds contention for the one write lock.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"

# Longer than DATABASE_BUSY_TIMEOUT_MS and the OTP webhook timeout, so those answer their own
# 503/502 before gunicorn kills the worker.
timeout = 30
graceful_timeout = 20

# Recycle workers now and then, so a slow leak can never grow without bound.
max_requests = 10000
max_requests_jitter = 1000

accesslog = "-"
errorlog = "-"
loglevel = "info"

# gunicorn's control socket lives at one path per user ($HOME/.gunicorn/gunicorn.ctl), so two
# instances on one box would fight over it; nothing here uses gunicornc.
control_socket_disable = True


def on_starting(server):
    """Refuse a weak configuration once, in the master, before any worker boots: one clear
    line and a non-zero exit instead of every worker failing in turn."""
    import sys

    from rewards.config import ConfigError, build_config, read_environment

    try:
        build_config(read_environment())
    except ConfigError as error:
        print(f"rewards: refusing to start: {error}", file=sys.stderr)
        sys.exit(4)
