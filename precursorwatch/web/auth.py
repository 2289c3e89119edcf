"""Signing in to the web app: who the request is from, what they may do, and the forms that
sign in, sign out, change a password and choose a language.

A session is a random token in an HttpOnly, SameSite=Lax cookie (Secure over https); the
database keeps only its SHA-256 (`exchange.people`). Every POST form carries the session's
CSRF token, compared in constant time, and a POST whose Origin is another site is refused.
The sign-in form, sent before there is a session, carries a token that must match a cookie
of its own. A person still holding a one-time password is sent to /password from every page.
"""

from __future__ import annotations

import datetime as dt
import hmac
import math
import secrets
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from precursorwatch.exchange import people
from precursorwatch.exchange.errors import Forbidden
from precursorwatch.exchange.people import SessionPerson
from precursorwatch.exchange.scope import Caller
from precursorwatch.exchange.service import Exchange
from precursorwatch.web.i18n import LANGUAGES, N_, gettext

Role = Literal["officer", "approver", "observer"]
SESSION_COOKIE = "pw_session"
LOGIN_CSRF_COOKIE = "pw_login_csrf"  # the sign-in form's token, before any session exists
CSRF_FIELD = "csrf_token"
# Pages a person with a one-time password may still open: the one to replace it, signing
# out, and choosing the language to read it in.
_BEFORE_NEW_PASSWORD = frozenset({"/password", "/logout", "/settings/language"})

# Messages shown on the forms (translated for the reader where shown).
WRONG_CREDENTIALS = N_("Wrong e-mail or password.")
LOCKED_OUT = N_("Too many failed sign-ins. Try again in %(minutes)s minutes.")
FORM_EXPIRED = N_("This form has expired or came from another site. Reload the page and "
                  "try again.")
WRONG_CURRENT = N_("The current password is wrong.")
PASSWORDS_DIFFER = N_("The two new passwords are not the same.")
NEED_CURRENT = N_("Enter your current password.")
PASSWORD_RULES: dict[people.PasswordProblem, str] = {
    "too_short": N_("The new password must have at least %(count)s characters."),
    "too_long": N_("The new password must have at most %(count)s characters."),
    "is_email": N_("The new password must not be your e-mail address."),
    "unchanged": N_("The new password must differ from the current one."),
}
NOT_ALLOWED = N_("Your role does not allow this.")


@dataclass(frozen=True)
class WebUser:
    """The signed-in person, as pages see them."""

    person_id: int
    email: str
    role: Role
    language: str | None
    caller: Caller  # the authority, with person=email: what the service functions take
    csrf_token: str
    must_change_password: bool


class SignInRequired(Exception):
    """No live session (or a password still to replace): the browser is sent to `location`,
    the sign-in page with `next` set to the page asked for (or /password)."""

    def __init__(self, location: str, next_path: str = "/") -> None:
        super().__init__(location)
        self.location = location
        self.next = next_path


async def sign_in_redirect(_request: Request, exc: Exception) -> Response:
    """The response to `SignInRequired`: 303 to where it says."""
    assert isinstance(exc, SignInRequired)
    return RedirectResponse(exc.location, status_code=303)


# -- who is asking ----------------------------------------------------------------------------
def _exchange(request: Request) -> Exchange:
    ex: Exchange = request.app.state.exchange
    return ex


def _session(request: Request) -> SessionPerson | None:
    """The request's live session, looked up once per request."""
    state = request.state
    if not hasattr(state, "web_session"):
        state.web_session = people.session_user(_exchange(request),
                                                request.cookies.get(SESSION_COOKIE))
    found: SessionPerson | None = state.web_session
    return found


def web_user(found: SessionPerson) -> WebUser:
    return WebUser(found.person_id, found.email, found.role, found.language,
                   Caller(found.authority_id, found.authority_code, found.authority_name,
                          person=found.email),
                   found.csrf_token, found.must_change_password)


def here(request: Request) -> str:
    """The path and query asked for, to come back to after signing in."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def local_path(target: str | None, default: str = "/") -> str:
    """`target` if it is a path on this server, else `default`: no redirect off the site
    (`//host`, `/\\host`, `https://host`, control characters are all refused)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if "\\" in target or any(ord(ch) < 0x20 or ord(ch) == 0x7f for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def current_user(request: Request) -> WebUser:
    """The signed-in person (a FastAPI dependency); without a live session, `SignInRequired`
    to the sign-in page, and while a new password is due, to /password."""
    found = _session(request)
    if found is None:
        wanted = here(request)
        raise SignInRequired(f"/login?{urlencode({'next': wanted})}", wanted)
    if found.must_change_password and request.url.path not in _BEFORE_NEW_PASSWORD:
        raise SignInRequired("/password", here(request))
    return web_user(found)


def optional_user(request: Request) -> WebUser | None:
    """The signed-in person, or None: for pages anyone may read."""
    found = _session(request)
    return None if found is None else web_user(found)


def require_role(user: WebUser, *roles: Role) -> None:
    """403 unless the person has one of `roles`."""
    if user.role not in roles:
        raise Forbidden(NOT_ALLOWED, code="role_not_allowed")


# -- CSRF -------------------------------------------------------------------------------------
def same_origin(request: Request) -> bool:
    """False when the request says it comes from a page of another site (Origin header);
    a request without one (not sent by a browser's cross-site form) passes."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin.lower() == f"{request.url.scheme}://{request.url.netloc}".lower()


def tokens_match(given: object, expected: str | None) -> bool:
    return (isinstance(given, str) and bool(expected)
            and hmac.compare_digest(given.encode(), str(expected).encode()))


async def csrf_protect(request: Request) -> None:
    """For every POST form: its `csrf_token` field must be the session's token, and its
    Origin (when sent) this server; 403 otherwise."""
    if not same_origin(request):
        raise Forbidden(FORM_EXPIRED, code="cross_site_request")
    form = await request.form()
    found = await run_in_threadpool(_session, request)
    if found is None or not tokens_match(form.get(CSRF_FIELD), found.csrf_token):
        raise Forbidden(FORM_EXPIRED, code="csrf_token_invalid")


# -- cookies ----------------------------------------------------------------------------------
def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=int(people.SESSION_LIFETIME.total_seconds()),
                        path="/", httponly=True, samesite="lax", secure=_secure(request))


def _forget_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=_secure(request))


# -- pages ------------------------------------------------------------------------------------
def _page(request: Request, template: str, context: dict[str, object], *,
          user: WebUser | None = None, status_code: int = 200) -> Response:
    from precursorwatch.web.render import page

    return page(request, template, context, user=user, status_code=status_code)


def _say(request: Request, user: WebUser | None, message: str, **values: object) -> str:
    from precursorwatch.web.render import language_for

    return gettext(language_for(request, user), message, **values)


auth_router = APIRouter(include_in_schema=False)


def _login_page(request: Request, *, next_path: str, email: str = "", error: str | None = None,
                status_code: int = 200) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE)
    fresh = not token or len(token) > 64
    if fresh:
        token = secrets.token_urlsafe(32)
    response = _page(request, "login.html",
                     {"next": next_path, "email": email, "error": error, "csrf_token": token},
                     status_code=status_code)
    if fresh:
        response.set_cookie(LOGIN_CSRF_COOKIE, str(token), path="/login", httponly=True,
                            samesite="lax", secure=_secure(request))
    return response


@auth_router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    """The sign-in form; someone already signed in goes on to `next`."""
    found = _session(request)
    target = local_path(next)
    if found is not None:
        return RedirectResponse("/password" if found.must_change_password else target,
                                status_code=303)
    return _login_page(request, next_path=target)


@auth_router.post("/login")
def login(request: Request,
          email: Annotated[str, Form()] = "",
          password: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/",
          csrf_token: Annotated[str, Form()] = "") -> Response:
    """Check the e-mail and password; on success a new session, then `next` (or /password
    while the one-time password is still in use)."""
    target = local_path(next)
    if not same_origin(request) or not tokens_match(csrf_token,
                                                    request.cookies.get(LOGIN_CSRF_COOKIE)):
        return _login_page(request, next_path=target, email=email,
                           error=_say(request, None, FORM_EXPIRED), status_code=403)
    ex = _exchange(request)
    try:
        signed = people.sign_in(ex, email, password)
    except people.SignInRefused as refused:
        if refused.reason == "locked" and refused.until is not None:
            left = max(1, math.ceil((refused.until - ex.now()) / dt.timedelta(minutes=1)))
            error = _say(request, None, LOCKED_OUT, minutes=left)
            return _login_page(request, next_path=target, email=email, error=error,
                               status_code=429)
        return _login_page(request, next_path=target, email=email,
                           error=_say(request, None, WRONG_CREDENTIALS), status_code=401)
    earlier = request.cookies.get(SESSION_COOKIE)
    if earlier:  # someone else signed in on this browser before: their session ends here
        people.end_session(ex, earlier)
    location = (f"/password?{urlencode({'next': target})}" if signed.must_change_password
                else target)
    response = RedirectResponse(location, status_code=303)
    _set_session_cookie(request, response, signed.token)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login", httponly=True, samesite="lax",
                           secure=_secure(request))
    return response


@auth_router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session (its CSRF token required) and go to the sign-in page."""
    found = await run_in_threadpool(_session, request)
    if found is not None:
        await csrf_protect(request)
        await run_in_threadpool(people.end_session, _exchange(request),
                                request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    _forget_session_cookie(request, response)
    return response


def _password_page(request: Request, user: WebUser, *, next_path: str,
                   error: str | None = None, status_code: int = 200) -> Response:
    return _page(request, "password.html",
                 {"next": next_path, "error": error, "first_time": user.must_change_password,
                  "min_length": people.MIN_PASSWORD},
                 user=user, status_code=status_code)


@auth_router.get("/password")
def password_form(request: Request, user: Annotated[WebUser, Depends(current_user)],
                  next: str | None = None) -> Response:
    """Set a new password: required at the first sign-in, any time after."""
    return _password_page(request, user, next_path=local_path(next))


@auth_router.post("/password", dependencies=[Depends(csrf_protect)])
def change_password(request: Request, user: Annotated[WebUser, Depends(current_user)],
                    current_password: Annotated[str, Form()] = "",
                    new_password: Annotated[str, Form()] = "",
                    confirm_password: Annotated[str, Form()] = "",
                    next: Annotated[str, Form()] = "/") -> Response:
    """Replace the password; the person's other sessions end."""
    target = local_path(next)

    def again(message: str, **values: object) -> Response:
        return _password_page(request, user, next_path=target, status_code=400,
                              error=_say(request, user, message, **values))

    if not user.must_change_password and not current_password:
        return again(NEED_CURRENT)
    if new_password != confirm_password:
        return again(PASSWORDS_DIFFER)
    found = _session(request)
    try:
        people.set_password(
            _exchange(request), user.person_id, new_password,
            current_password=None if user.must_change_password else current_password,
            keep_session=found.token_hash if found is not None else None)
    except people.WrongPassword:
        return again(WRONG_CURRENT)
    except people.PasswordRejected as rejected:
        count = people.MAX_PASSWORD if rejected.problem == "too_long" else people.MIN_PASSWORD
        return again(PASSWORD_RULES[rejected.problem], count=count)
    return RedirectResponse(target, status_code=303)


@auth_router.post("/settings/language")
def choose_language(request: Request,
                    language: Annotated[str, Form()] = "",
                    next: Annotated[str, Form()] = "/",
                    csrf_token: Annotated[str, Form()] = "") -> Response:
    """Keep the person's language (empty: follow the browser). Without a session, the
    choice travels in the address instead (`?lang=`)."""
    target = local_path(next)
    found = _session(request)
    if found is None:
        if not same_origin(request):
            raise Forbidden(FORM_EXPIRED, code="cross_site_request")
        if language in LANGUAGES:
            parts = urlsplit(target)
            kept = [(k, v) for k, v in parse_qsl(parts.query) if k != "lang"]
            target = f"{parts.path}?{urlencode([*kept, ('lang', language)])}"
        return RedirectResponse(target, status_code=303)
    if not same_origin(request) or not tokens_match(csrf_token, found.csrf_token):
        raise Forbidden(FORM_EXPIRED, code="csrf_token_invalid")
    people.set_language(_exchange(request), found.person_id,
                        language if language in LANGUAGES else None)
    return RedirectResponse(target, status_code=303)
