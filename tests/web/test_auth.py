"""Signing in to the web app over HTTP (FastAPI's TestClient): the forms, the cookie, CSRF,
lock-out, expiry, sign-out, and that a person sees only what their authority may; on SQLite
and PostgreSQL (the exchange tests' fixtures)."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from precursorwatch.exchange import audit, notifications, people
from precursorwatch.exchange.errors import Forbidden, NotFound
from precursorwatch.exchange.models import AuditEntry, Authority
from precursorwatch.exchange.service import Exchange
from precursorwatch.web.auth import (
    SESSION_COOKIE,
    WebUser,
    local_path,
    require_role,
    web_user,
)
from precursorwatch.web.i18n import gettext


def _exchange_fixtures() -> Any:
    """The exchange tests' conftest (databases, settings, app, authorities, clock)."""
    if "exchange_fixtures" in sys.modules:
        return sys.modules["exchange_fixtures"]
    folder = Path(__file__).resolve().parents[1] / "exchange"
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location("exchange_fixtures", folder / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_fixtures = _exchange_fixtures()
database = _fixtures.database
settings = _fixtures.settings
engine = _fixtures.engine
clock = _fixtures.clock
app = _fixtures.app
authorities = _fixtures.authorities

from exchange_helpers import Clock, notification  # noqa: E402  (path set just above)

GOOD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
ALERT = re.compile(r'role="alert"[^>]*>([^<]*)<')


@pytest.fixture
def web(app: FastAPI, authorities: Any) -> Iterator[TestClient]:
    """A browser without cookies, on the exchange with its web app."""
    if not any(getattr(route, "path", None) == "/login" for route in app.routes):
        from precursorwatch.web.app import mount_web

        mount_web(app)
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        yield client


def exchange(client: TestClient) -> Exchange:
    ex: Exchange = client.app.state.exchange  # type: ignore[attr-defined]
    return ex


def csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, html[:500]
    return found[1]


def alert(response: Response) -> str:
    found = ALERT.search(response.text)
    assert found is not None, response.text[:800]
    return found[1].strip()


def sign_in(client: TestClient, email: str, password: str, next_path: str = "/inbox"
            ) -> Response:
    form = client.get("/login", params={"next": next_path})
    assert form.status_code == 200
    return client.post("/login", data={"email": email, "password": password,
                                       "next": next_path, "csrf_token": csrf(form.text)})


def ready(client: TestClient, code: str, email: str, role: str = "officer") -> str:
    """A person with their own password GOOD (their first sign-in done elsewhere)."""
    ex = exchange(client)
    new = people.add_person(ex.engine, code, email, role)
    signed = people.sign_in(ex, new.email, new.password)
    people.set_password(ex, signed.person_id, GOOD)
    return new.email


def signed_in(client: TestClient, code: str, email: str, role: str = "officer") -> str:
    """Sign `email` in on `client`; the CSRF token of their session."""
    ready(client, code, email, role)
    assert sign_in(client, email, GOOD).status_code == 303
    return csrf(client.get("/password").text)


def session_of(client: TestClient) -> WebUser:
    found = people.session_user(exchange(client), client.cookies.get(SESSION_COOKIE))
    assert found is not None
    return web_user(found)


# -- signing in -------------------------------------------------------------------------------
def test_the_first_sign_in_sends_every_page_to_the_password_form(web: TestClient) -> None:
    new = people.add_person(exchange(web).engine, "MX", "officer@mx.example", "officer")
    answer = sign_in(web, "officer@mx.example", new.password, "/inbox")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/password?next=%2Finbox"
    landed = web.get("/inbox", follow_redirects=True)
    assert landed.url.path == "/password"
    assert 'id="current_password"' not in landed.text  # the one-time password is enough
    token = csrf(landed.text)
    saved = web.post("/password", data={"new_password": GOOD, "confirm_password": GOOD,
                                        "next": "/inbox", "csrf_token": token})
    assert saved.status_code == 303 and saved.headers["location"] == "/inbox"
    assert web.get("/inbox").status_code == 200
    assert 'id="current_password"' in web.get("/password").text


@pytest.mark.parametrize(("new", "again", "said"), [
    ("too short", "too short", "The new password must have at least 12 characters."),
    ("Officer@MX.example", "Officer@MX.example",
     "The new password must not be your e-mail address."),
    (GOOD, GOOD + "!", "The two new passwords are not the same."),
])
def test_password_rules_are_said_plainly(web: TestClient, new: str, again: str,
                                         said: str) -> None:
    added = people.add_person(exchange(web).engine, "MX", "officer@mx.example", "officer")
    sign_in(web, added.email, added.password)
    token = csrf(web.get("/password").text)
    refused = web.post("/password", data={"new_password": new, "confirm_password": again,
                                          "csrf_token": token})
    assert refused.status_code == 400
    assert alert(refused) == said


def test_a_password_change_by_choice_needs_the_current_one(web: TestClient) -> None:
    token = signed_in(web, "MX", "officer@mx.example")
    fresh = "another long password"
    for current, said in [("", "Enter your current password."),
                          ("not my password", "The current password is wrong.")]:
        refused = web.post("/password", data={"current_password": current,
                                              "new_password": fresh,
                                              "confirm_password": fresh, "csrf_token": token})
        assert refused.status_code == 400 and alert(refused) == said
    saved = web.post("/password", data={"current_password": GOOD, "new_password": fresh,
                                        "confirm_password": fresh, "csrf_token": token})
    assert saved.status_code == 303
    assert web.get("/password").status_code == 200  # this session goes on


def test_a_wrong_password_and_an_unknown_e_mail_read_the_same(web: TestClient) -> None:
    ready(web, "MX", "officer@mx.example")
    wrong = sign_in(web, "officer@mx.example", "not the password")
    unknown = sign_in(web, "nobody@mx.example", GOOD)
    assert wrong.status_code == unknown.status_code == 401
    assert alert(wrong) == alert(unknown) == "Wrong e-mail or password."
    assert SESSION_COOKIE not in web.cookies


def test_five_wrong_passwords_lock_the_form_for_fifteen_minutes(web: TestClient,
                                                                clock: Clock) -> None:
    ready(web, "MX", "officer@mx.example")
    for _ in range(4):
        assert sign_in(web, "officer@mx.example", "not the password").status_code == 401
    locked = sign_in(web, "officer@mx.example", "not the password")
    assert locked.status_code == 429
    assert alert(locked) == "Too many failed sign-ins. Try again in 15 minutes."
    clock.advance(minutes=10)
    still = sign_in(web, "officer@mx.example", GOOD)
    assert still.status_code == 429
    assert alert(still) == "Too many failed sign-ins. Try again in 5 minutes."
    clock.advance(minutes=5)
    assert sign_in(web, "officer@mx.example", GOOD).status_code == 303


def test_the_sign_in_form_answers_in_the_language_asked_for(web: TestClient) -> None:
    ready(web, "MX", "officer@mx.example")
    form = web.get("/login", params={"lang": "es"})
    assert 'action="/login?lang=es"' in form.text
    wrong = web.post("/login?lang=es", data={"email": "officer@mx.example",
                                             "password": "not the password",
                                             "csrf_token": csrf(form.text)})
    assert alert(wrong) == gettext("es", "Wrong e-mail or password.")
    assert alert(wrong) != "Wrong e-mail or password."


def test_signing_in_over_someone_elses_session_ends_theirs(web: TestClient) -> None:
    ex = exchange(web)
    first = people.sign_in(ex, ready(web, "MX", "officer@mx.example"), GOOD)
    ready(web, "MX", "approver@mx.example", "approver")
    form = web.get("/login")  # a sign-in form left open in another tab
    web.cookies.set(SESSION_COOKIE, first.token, domain="testserver.local")
    signed = web.post("/login", data={"email": "approver@mx.example", "password": GOOD,
                                      "csrf_token": csrf(form.text)})
    assert signed.status_code == 303
    assert people.session_user(ex, first.token) is None
    assert session_of(web).email == "approver@mx.example"


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/inbox", "/\\evil.example", "\\\\evil.example",
    "javascript:alert(1)", "inbox", "/in\nbox", "",
])
def test_after_sign_in_only_local_paths_are_followed(web: TestClient, target: str) -> None:
    ready(web, "MX", "officer@mx.example")
    answer = sign_in(web, "officer@mx.example", GOOD, target)
    assert answer.status_code == 303 and answer.headers["location"] == "/"


@pytest.mark.parametrize(("target", "followed"), [
    ("/notifications/abc?tab=answer", "/notifications/abc?tab=answer"),
    ("/inbox", "/inbox"), (None, "/"), ("//x", "/"), ("/%2F%2Fx", "/%2F%2Fx"),
    ("http:/x", "/"), ("/ok\x7f", "/"),
])
def test_local_path(target: str | None, followed: str) -> None:
    assert local_path(target) == followed


def test_the_session_cookie_is_http_only_same_site_and_secure_over_https(
        web: TestClient) -> None:
    ready(web, "MX", "officer@mx.example")
    plain = sign_in(web, "officer@mx.example", GOOD).headers["set-cookie"].lower()
    assert "pw_session=" in plain and "httponly" in plain and "samesite=lax" in plain
    assert "path=/" in plain and "secure" not in plain
    with TestClient(web.app, base_url="https://testserver", follow_redirects=False) as tls:
        secure = sign_in(tls, "officer@mx.example", GOOD).headers["set-cookie"].lower()
    assert "httponly" in secure and "samesite=lax" in secure and "; secure" in secure


# -- CSRF -------------------------------------------------------------------------------------
def test_forms_without_the_sessions_token_are_refused(web: TestClient) -> None:
    token = signed_in(web, "MX", "officer@mx.example")
    fresh = {"current_password": GOOD, "new_password": "another long password",
             "confirm_password": "another long password"}
    for form in [fresh, {**fresh, "csrf_token": ""}, {**fresh, "csrf_token": token[:-1]},
                 {**fresh, "csrf_token": token + "x"}]:
        assert web.post("/password", data=form).status_code == 403
    assert web.post("/password", data={**fresh, "csrf_token": token},
                    headers={"Origin": "https://evil.example"}).status_code == 403
    assert web.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert web.post("/settings/language", data={"language": "es"}).status_code == 403
    assert session_of(web).language is None  # nothing of it happened
    assert web.get("/password").status_code == 200  # still signed in
    same_site = web.post("/password", data={**fresh, "csrf_token": token},
                         headers={"Origin": "http://testserver"})
    assert same_site.status_code == 303


def test_the_sign_in_form_has_a_token_of_its_own(web: TestClient) -> None:
    ready(web, "MX", "officer@mx.example")
    form = web.get("/login")
    login = {"email": "officer@mx.example", "password": GOOD, "csrf_token": csrf(form.text)}
    assert web.post("/login", data={**login, "csrf_token": "forged"}).status_code == 403
    assert web.post("/login", data=login,
                    headers={"Origin": "https://evil.example"}).status_code == 403
    assert SESSION_COOKIE not in web.cookies
    assert web.post("/login", data=login).status_code == 303


def test_the_language_setting_is_kept_with_the_person(web: TestClient) -> None:
    token = signed_in(web, "MX", "officer@mx.example")
    chosen = web.post("/settings/language", data={"language": "es", "next": "/password",
                                                  "csrf_token": token})
    assert chosen.status_code == 303 and chosen.headers["location"] == "/password"
    assert session_of(web).language == "es"


# -- sessions ---------------------------------------------------------------------------------
def test_a_session_ends_after_an_idle_hour(web: TestClient, clock: Clock) -> None:
    signed_in(web, "MX", "officer@mx.example")
    clock.advance(minutes=59)
    assert web.get("/password").status_code == 200
    clock.advance(minutes=61)
    gone = web.get("/password")
    assert gone.status_code == 303
    assert gone.headers["location"].startswith("/login?next=%2Fpassword")


def test_signing_out_ends_the_session_and_is_in_the_audit_chain(web: TestClient) -> None:
    token = signed_in(web, "MX", "officer@mx.example")
    cookie = web.cookies[SESSION_COOKIE]
    out = web.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert 'pw_session=""' in out.headers["set-cookie"]
    web.cookies.set(SESSION_COOKIE, cookie)  # the old cookie, kept by a thief
    assert web.get("/password").status_code == 303
    ex = exchange(web)
    with ex.sessions() as session:
        mx = session.scalar(select(Authority).where(Authority.code == "MX"))
        assert mx is not None
        report = audit.verify_chain(session, mx)
        actions = [e.action for e in session.scalars(
            select(AuditEntry).where(AuditEntry.authority_id == mx.id)
            .order_by(AuditEntry.seq))]
    assert report.ok, report.problems
    assert actions == ["person.sign_in", "person.password_changed", "person.sign_in",
                       "person.sign_out"]


# -- what a person may see and do -------------------------------------------------------------
def test_a_person_of_mx_cannot_read_a_notification_between_cn_and_us(
        web: TestClient, authorities: Any) -> None:
    sent = web.post("/v1/notifications", headers=authorities.headers("CN"), json=notification(
        importing_authority="US", transit_authorities=[], transit_countries=[],
        importer={"name": "Example Labs Inc", "address": "1 Main St, Houston",
                  "country": "US"},
        consignee={"name": "Example Labs Inc", "address": "1 Main St, Houston",
                   "country": "US"}))
    assert sent.status_code == 201, sent.text
    notification_id = sent.json()["id"]
    signed_in(web, "MX", "officer@mx.example")
    mx = session_of(web)
    assert mx.caller.code == "MX" and mx.caller.person == "officer@mx.example"
    with pytest.raises(NotFound):
        notifications.get_notification(exchange(web), mx.caller, notification_id)
    assert web.get(f"/notifications/{notification_id}").status_code == 404

    with TestClient(web.app, follow_redirects=False) as us_browser:
        signed_in(us_browser, "US", "officer@us.example")
        us = session_of(us_browser)
        assert notifications.get_notification(exchange(web), us.caller, notification_id)
        assert us_browser.get(f"/notifications/{notification_id}").status_code == 200


def test_an_observer_cannot_answer_and_an_approver_answers_in_their_own_name(
        web: TestClient, authorities: Any) -> None:
    sent = web.post("/v1/notifications", headers=authorities.headers("CN"), json=notification())
    assert sent.status_code == 201, sent.text
    answer = f"/notifications/{sent.json()['id']}/answer"
    token = signed_in(web, "MX", "observer@mx.example", "observer")
    observer = session_of(web)
    with pytest.raises(Forbidden) as refused:
        require_role(observer, "approver")
    assert refused.value.status == 403
    require_role(observer, "observer", "officer", "approver")
    assert web.post(answer, data={"decision": "no_objection",
                                  "csrf_token": token}).status_code == 403

    with TestClient(web.app, follow_redirects=False) as approver_browser:
        token = signed_in(approver_browser, "MX", "approver@mx.example", "approver")
        answered = approver_browser.post(answer, data={"decision": "no_objection",
                                                       "csrf_token": token})
        assert answered.status_code == 303, answered.text[:500]
    with exchange(web).sessions() as session:
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert last is not None
    assert (last.action, last.actor) == ("notification.no_objection", "approver@mx.example")
