"""Rendering a page: the language chosen for the request and the context every page gets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from precursorwatch.web.i18n import N_, choose_language, gettext, render_template

if TYPE_CHECKING:
    from precursorwatch.web.auth import WebUser

# Security headers of every page: no asset from elsewhere (the app ships its own), no framing.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "style-src 'self' 'unsafe-inline'; script-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


# What a page says after a form sent the person to it (`?done=KEY&receipt=SEQ:HASH`).
FLASHES: dict[str, str] = {
    "sent": N_("The notification was signed and sent. Audit receipt: %(receipt)s"),
    "answered": N_("Your answer was signed and sent. Audit receipt: %(receipt)s"),
    "reported": N_("The incident was signed and shared. Audit receipt: %(receipt)s"),
    "shared": N_("The flagged shipments were shared as an incident. Audit receipt: "
                 "%(receipt)s"),
}


def flash(request: Request, language: str) -> str:
    key = request.query_params.get("done", "")
    if key not in FLASHES:
        return ""
    receipt = request.query_params.get("receipt", "")[:90]
    return gettext(language, FLASHES[key], receipt=receipt or "-")


def language_for(request: Request, user: WebUser | None) -> str:
    """The person's setting, then `?lang=`, then Accept-Language, then English."""
    return choose_language(user.language if user is not None else None,
                           request.query_params.get("lang"),
                           request.headers.get("accept-language"))


def page(request: Request, template: str, context: Mapping[str, Any] | None = None, *,
         user: WebUser | None = None, status_code: int = 200,
         language: str | None = None) -> HTMLResponse:
    """`template` rendered with `user`, `csrf_token`, `lang`, `request` and `context`."""
    lang = language or language_for(request, user)
    values: dict[str, Any] = {
        "request": request, "user": user,
        "csrf_token": user.csrf_token if user is not None else "",
        "flash": flash(request, lang),
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }
    values.update(context or {})
    body = render_template(lang, template, values)
    headers = {**PAGE_HEADERS, "Content-Language": lang}
    return HTMLResponse(body, status_code=status_code, headers=headers)
