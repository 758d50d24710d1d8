"""The contract in a browser: GET /openapi.json and GET /docs.

openapi.yaml at the repository root is the one description of the API; it is served as JSON
and rendered by Swagger UI, whose files come from the flask-swagger-ui package and are served
from here, so the page works with no internet.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import flask_swagger_ui
import yaml
from flask import Blueprint, Response, current_app, send_from_directory

bp = Blueprint("docs", __name__)

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
SWAGGER_UI = Path(flask_swagger_ui.__file__).resolve().parent / "dist"

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
  <script>
    window.ui = SwaggerUIBundle({
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      // No badge fetched from validator.swagger.io: the page must work offline.
      validatorUrl: null,
    });
  </script>
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
def docs_page() -> Response:
    return current_app.response_class(PAGE, mimetype="text/html")


@bp.get("/docs/<path:asset>")
def docs_asset(asset: str) -> Response:
    # send_from_directory refuses paths that leave the folder (a 404 problem).
    return send_from_directory(SWAGGER_UI, asset, max_age=3600)
