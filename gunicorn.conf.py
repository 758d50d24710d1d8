"""gunicorn's defaults for rewards. `-b` and `-w` on the command line override these."""

import multiprocessing
import os
import sys


def _settings_or_exit() -> dict:
    """The service's settings, read as gunicorn reads this file: before it logs, binds or boots
    a worker, so a setting that cannot be read (PORT=99999 too), a database server that turns
    the connection away (a wrong password, an unknown database) or a schema of another release
    stops it with one line and a non-zero exit instead of a traceback or a service answering
    503 forever. An unreachable database is no reason: the service answers 503 until it is back."""
    # This file sits beside the package; gunicorn applies --pythonpath only after reading it.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from rewards.config import ConfigError, build_config, read_environment
    from rewards.db import open_database
    from rewards.db.migrate import version_problem

    try:
        config = build_config(read_environment())
    except ConfigError as error:
        problem = str(error)
    else:
        problem = version_problem(open_database(config).backend)
    if problem is not None:
        print(f"rewards: refusing to start: {problem}", file=sys.stderr)
        sys.exit(4)
    return config


bind = f"{os.environ.get('GUNICORN_HOST', '127.0.0.1')}:{_settings_or_exit()['PORT']}"

# Sync workers, one per core plus one: the one extra keeps the cores busy while a worker waits
# on fsync; more workers only queue for SQLite's single write lock and the same cores.
# bench/RESULTS.md has the figures (gthread with group commit and 2 per core + 1 measured no
# better on this machine, with a worse p99).
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
# gunicorn's sync worker, answering the requests gunicorn itself refuses as problem+json.
worker_class = "rewards.gunicorn_worker.ProblemSyncWorker"

# Longer than DATABASE_BUSY_TIMEOUT_MS and the OTP webhook timeout, so those answer their own
# 503/502 before gunicorn kills the worker.
timeout = 30
graceful_timeout = 20

# Recycle workers now and then, so a slow leak can never grow without bound.
max_requests = 10000
max_requests_jitter = 1000

# The master loads the app, and compiles every page's templates in both languages, before it
# forks a worker: a worker recycled above starts in a fork's time, where it imported the app
# again and compiled the console's templates on its first pages (bench/ANALYSIS.md).
# Connections are opened by each worker after the fork (rewards/db keeps one per process), and
# a change of code needs a restart, not a HUP.
preload_app = True


def when_ready(server) -> None:  # gunicorn's hook: the app is loaded, no worker forked yet
    from rewards.web.templating import compile_every_page

    compile_every_page(server.app.wsgi())


accesslog = "-"
errorlog = "-"
loglevel = "info"

# gunicorn's control socket lives at one path per user ($HOME/.gunicorn/gunicorn.ctl), so two
# instances on one box would fight over it; nothing here uses gunicornc.
control_socket_disable = True
