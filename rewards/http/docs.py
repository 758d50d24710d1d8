"""The contract in a browser: GET /openapi.json and GET /docs.

openapi.yaml at the repository root is the one description of the API; it is served as JSON
and rendered by Swagger UI, whose files come from the flask-swagger-ui package and are served
from here, so the page works with no internet. The script that starts Swagger UI is a file of
ours (docs_static/), so the page's policy allows no inline script.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import flask_swagger_ui
import yaml
from flask import Blueprint, Response, current_app, send_from_directory

from .headers import content_security_policy

bp = Blueprint("docs", __name__)

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
SWAGGER_UI = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
OURS = Path(__file__).resolve().parent / "docs_static"
OUR_ASSETS = frozenset(path.name for path in OURS.iterdir())

# Everything from the service itself. Swagger UI sets element styles from its script and its
# style sheet draws icons from data: URIs; nothing else is allowed, no inline script above all.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# The assets are scripts, style sheets and images; Swagger UI's one HTML file (an OAuth2
# redirect page we do not use) may run nothing.
ASSET_POLICY = "default-src 'none'; frame-ancestors 'none'"

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>rewards API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-init.js"></script>
</body>
</html>
"""


@cache
def spec_json() -> str:
    return json.dumps(yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8")))


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return current_app.response_class(spec_json(), mimetype="application/json")


@bp.get("/docs")
@content_security_policy(PAGE_POLICY)
def docs_page() -> Response:
    return current_app.response_class(PAGE, mimetype="text/html")


@bp.get("/docs/<path:asset>")
@content_security_policy(ASSET_POLICY)
def docs_asset(asset: str) -> Response:
    # send_from_directory refuses paths that leave the folder (a 404 problem).
    return send_from_directory(OURS if asset in OUR_ASSETS else SWAGGER_UI, asset, max_age=3600)
