"""openapi.yaml, the service and its error table describe the same API, both ways, and the
service serves the spec (GET /openapi.json) and a page that renders it (GET /docs)."""

from __future__ import annotations

import re
import subprocess

import yaml

from rewards.errors import PROBLEM_CODES
from rewards.version import __version__

from .support.servers import ROOT

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def spec() -> dict:
    return yaml.safe_load((ROOT / "openapi.yaml").read_text())


# The pages (HTML for people, and their static files) are not the JSON API the spec describes;
# the README's "Pages" section lists them.
PAGE_ENDPOINTS = ("pages.", "console.", "static")


def app_operations(app) -> set[tuple[str, str]]:
    operations = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(PAGE_ENDPOINTS):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operations.add((path, method.lower()))
    return operations


def spec_operations() -> set[tuple[str, str]]:
    return {(path, method) for path, item in spec()["paths"].items() for method in item if method in HTTP_METHODS}


def normalise(operations):
    # Parameter names may differ between a Flask rule and the spec; their places may not.
    return {(re.sub(r"\{[^}]+\}", "{}", path), method) for path, method in operations}


def test_every_route_is_in_the_spec_and_every_spec_path_is_a_route(app):
    assert normalise(app_operations(app)) == normalise(spec_operations())


def test_spec_is_openapi_3_1_with_the_package_version():
    document = spec()
    assert document["openapi"].startswith("3.1")
    assert document["info"]["version"] == __version__


def test_the_spec_lists_exactly_the_codes_the_service_answers():
    codes = spec()["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]
    assert sorted(codes) == sorted(PROBLEM_CODES)


def test_the_readme_tables_every_code_with_its_status():
    readme = (ROOT / "README.md").read_text()
    table = dict(
        (code, int(status)) for status, code in re.findall(r"^\| (\d{3}) \| `([a-z_]+)` \|", readme, re.MULTILINE)
    )
    assert table == PROBLEM_CODES


def test_no_file_of_the_repository_points_outside_it():
    """Users get the repository alone: nothing may send them to a file beside it."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    beside = ".." + "/shared"  # spelled apart so that this file does not match itself
    outside = [
        name
        for name in tracked
        if (ROOT / name).is_file() and beside in (ROOT / name).read_text(encoding="utf-8", errors="replace")
    ]
    assert outside == []


def test_openapi_json_serves_the_spec(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == spec()


def test_docs_page_and_its_assets_are_served_by_the_service(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="(/docs/[^"]+)"', html)
    assert assets and "http" not in "".join(re.findall(r'(?:src|href)="([^"]+)"', html))  # nothing from the web
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        response.close()
    missing = client.get("/docs/../../app.py")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
