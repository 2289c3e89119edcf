"""The API's OpenAPI page, working offline: Swagger UI served from the installed
`fastapi-offline` package (Swagger UI is Apache-2.0, the package MIT; see
static/THIRD_PARTY.txt), started by a script of our own so no inline script is needed."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from precursorwatch.web.auth import optional_user
from precursorwatch.web.render import page

router = APIRouter(include_in_schema=False)

SWAGGER_ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_PATH = "/static/swagger"


def swagger_assets() -> StaticFiles:
    return StaticFiles(directory=SWAGGER_ASSETS)


@router.get("/docs")
def docs(request: Request) -> Response:
    return page(request, "docs.html", {"section": "docs", "assets": ASSETS_PATH},
                user=optional_user(request))
