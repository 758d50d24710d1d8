"""openapi.yaml and the app describe the same routes and methods."""

from __future__ import annotations

import re

import yaml

from .live import ROOT

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def spec() -> dict:
    return yaml.safe_load((ROOT / "openapi.yaml").read_text())


def app_operations(app) -> set[tuple[str, str]]:
    operations = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operations.add((path, method.lower()))
    return operations


def spec_operations() -> set[tuple[str, str]]:
    return {(path, method) for path, item in spec()["paths"].items() for method in item if method in HTTP_METHODS}


def normalise(operations):
    # The spec names the wallet's path parameter user_id; Flask's rule calls it user_ref.
    return {(re.sub(r"\{[^}]+\}", "{}", path), method) for path, method in operations}


def test_every_route_is_in_the_spec_and_every_spec_path_is_a_route(app):
    assert normalise(app_operations(app)) == normalise(spec_operations())


def test_spec_is_openapi_3_1_with_the_package_version():
    document = spec()
    assert document["openapi"].startswith("3.1")
    assert document["info"]["version"] == "1.0.0"


def test_every_problem_code_of_the_contract_is_documented():
    codes = set(spec()["components"]["schemas"]["Problem"]["properties"]["code"]["enum"])
    contract = ROOT.parent / "shared" / "API.md"
    if contract.exists():
        table = re.findall(r"^\| \d{3} \| `([a-z_]+)` \|", contract.read_text(), re.MULTILINE)
        assert set(table) == codes
    assert len(codes) == 17
