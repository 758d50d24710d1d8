"""Fixtures: every test that touches a database runs on SQLite and on PostgreSQL, each time on
a fresh database; an app on it, its client and CLI runner, one client helper that reads like a
user's steps, and real gunicorn servers for what only processes can prove.

A test that applies to one engine only says so with `@pytest.mark.engines("sqlite")`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import configuration as hypothesis_configuration

from .support.apps import build_app
from .support.browser import chromium, playwright_session  # noqa: F401 (fixtures)
from .support.client import Api, TestClientTransport
from .support.engines import ENGINES, PostgresServer, Probe, TestDatabase, new_sqlite_database
from .support.pages import Visitor
from .support.servers import LiveServer, start_gunicorn

# Tests never write into the working tree: hypothesis keeps its example database in a
# temporary folder (pytest's own cache is off in pyproject.toml, bytecode goes to
# PYTHONPYCACHEPREFIX from the Makefile, and schemathesis runs in the test's folder).
hypothesis_configuration.set_hypothesis_home_dir(tempfile.mkdtemp(prefix="rewards-hypothesis-"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "engines(*names): run this test on these database engines only")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("engines")
        engines = marker.args if marker else ENGINES
        metafunc.parametrize("engine", engines, scope="function")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture
def new_database(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """Make fresh databases of this test's engine (the first is `database`); all are dropped
    at teardown."""
    made: list[TestDatabase] = []
    counter = iter(range(1000))
    server = request.getfixturevalue("postgres") if engine == "postgresql" else None

    def make() -> TestDatabase:
        if server is None:
            database = new_sqlite_database(tmp_path / f"db{next(counter)}")
        else:
            database = TestDatabase("postgresql", server.new_database())
        made.append(database)
        return database

    yield make
    if server is not None:
        for database in made:
            server.drop(database.url)


@pytest.fixture
def database(new_database: Any) -> TestDatabase:
    return new_database()


@pytest.fixture
def db_path(database: TestDatabase) -> Path:
    """The SQLite file, for tests marked engines("sqlite")."""
    assert database.path is not None, "db_path is for SQLite tests; mark the test engines('sqlite')"
    return database.path


@pytest.fixture
def make_app(database: TestDatabase) -> Iterator[Any]:
    """Build an app on this test's database with extra settings; closed at teardown."""
    apps: list[Flask] = []

    def build(**settings: Any) -> Flask:
        app = build_app(database.url, **settings)
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["rewards.db"].close()


@pytest.fixture
def app(make_app: Any) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def db(database: TestDatabase) -> Iterator[Probe]:
    """A separate connection to the test's database, for arranging and checking rows."""
    with database.connect() as probe:
        yield probe


@pytest.fixture
def api(client: FlaskClient) -> Api:
    return Api(TestClientTransport(client))


@pytest.fixture
def gunicorn(database: TestDatabase, tmp_path: Path) -> Iterator[Any]:
    """Start real gunicorn servers on the test's database (`db` sees what they wrote) or on
    another one given; all are stopped at teardown."""
    servers: list[LiveServer] = []

    def start(workers: int = 4, database: TestDatabase = database, **env: str) -> LiveServer:
        server = start_gunicorn(database, tmp_path / f"live{len(servers)}", workers, env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def hosts(gunicorn: Any, database: TestDatabase) -> Any:
    """Several gunicorn instances (each its own port and workers) on one database: app hosts
    behind a load balancer."""

    def start(n: int = 2, workers: int = 4, **env: str) -> list[LiveServer]:
        return [gunicorn(workers, database=database, **env) for _ in range(n)]

    return start


@pytest.fixture
def visitor(app: Flask) -> Visitor:
    """A browser of the pages without a browser: Flask's test client, with the forms' CSRF token."""
    return Visitor(app.test_client())
