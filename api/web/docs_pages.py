"""The API's interactive docs, /docs (Swagger UI) and /redoc (ReDoc), served from vendored files only.

FastAPI's own pages load their scripts from a CDN, so they are blank offline, and /docs starts
Swagger UI from an inline script, which our Content-Security-Policy refuses. These pages load
everything from /ui/static (vendored by api/web/vendor_assets.py) and start Swagger UI from a
static file, so the policy needs no inline-script exception.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import escape

STATIC_URL = "/ui/static"
SWAGGER_JS = f"{STATIC_URL}/vendor/swagger-ui/swagger-ui-bundle.js"
SWAGGER_CSS = f"{STATIC_URL}/vendor/swagger-ui/swagger-ui.css"
SWAGGER_INIT = f"{STATIC_URL}/docs/swagger-init.js"
SWAGGER_A11Y_CSS = f"{STATIC_URL}/docs/swagger-a11y.css"
FAVICON = f"{STATIC_URL}/vendor/swagger-ui/favicon-32x32.png"
REDOC_JS = f"{STATIC_URL}/vendor/redoc/redoc.standalone.js"
REDOC_A11Y_CSS = f"{STATIC_URL}/docs/redoc-a11y.css"
# ReDoc's default theme with text contrast of at least 4.5:1 (WCAG AA), so /redoc passes the axe check.
REDOC_THEME = {
    "colors": {"text": {"secondary": "#545a5e"},
               "responses": {"success": {"tabTextColor": "#3ecf5a"}, "error": {"tabTextColor": "#ff6e6b"}}},
    "typography": {"code": {"color": "#b3261e"}},
}

router = APIRouter(include_in_schema=False)


def _openapi_url(request: Request) -> str:
    return request.scope.get("root_path", "") + (request.app.openapi_url or "/openapi.json")


def swagger_html(title: str, openapi_url: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} - Swagger UI</title>
<link rel="stylesheet" href="{SWAGGER_CSS}">
<link rel="stylesheet" href="{SWAGGER_A11Y_CSS}">
<link rel="icon" href="{FAVICON}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{SWAGGER_JS}"></script>
<script src="{SWAGGER_INIT}" data-openapi-url="{escape(openapi_url)}"></script>
</body>
</html>
"""


def redoc_html(title: str, openapi_url: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} - ReDoc</title>
<link rel="stylesheet" href="{REDOC_A11Y_CSS}">
<link rel="icon" href="{FAVICON}">
</head>
<body>
<noscript>ReDoc needs JavaScript to show the API reference; /openapi.json is the same document.</noscript>
<redoc spec-url="{escape(openapi_url)}" theme="{escape(json.dumps(REDOC_THEME))}"></redoc>
<script src="{REDOC_JS}"></script>
</body>
</html>
"""


@router.get("/docs", response_class=HTMLResponse)
def swagger_page(request: Request) -> HTMLResponse:
    return HTMLResponse(swagger_html(request.app.title, _openapi_url(request)))


@router.get("/redoc", response_class=HTMLResponse)
def redoc_page(request: Request) -> HTMLResponse:
    return HTMLResponse(redoc_html(request.app.title, _openapi_url(request)))
