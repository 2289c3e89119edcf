"""People of the web app: accounts, sign-in and lock-out, sessions, password changes, and their
links in the audit chain; on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from conftest import Authorities
from exchange_helpers import Clock
from fastapi import FastAPI
from sqlalchemy import select
from typer.testing import CliRunner

from precursorwatch.cli import app as cli
from precursorwatch.exchange import audit, people
from precursorwatch.exchange.errors import AdminError
from precursorwatch.exchange.models import AuditEntry, Authority, Person, WebSession
from precursorwatch.exchange.service import Exchange

GOOD = "correct horse battery staple"


def exchange_of(app: FastAPI) -> Exchange:
    ex: Exchange = app.state.exchange
    return ex


def person(ex: Exchange, email: str) -> Person:
    with ex.sessions() as session:
        found = session.scalar(select(Person).where(Person.email == email))
        assert found is not None
        return found


def events(ex: Exchange, code: str) -> list[tuple[str, str]]:
    """(action, actor) of the authority's person events, in chain order."""
    with ex.sessions() as session:
        return [(e.action, e.actor) for e in session.scalars(
            select(AuditEntry).join(Authority, Authority.id == AuditEntry.authority_id)
            .where(Authority.code == code, AuditEntry.record_type == audit.EVENT)
            .order_by(AuditEntry.seq))]


def chain_intact(ex: Exchange, code: str) -> bool:
    with ex.sessions() as session:
        authority = session.scalar(select(Authority).where(Authority.code == code))
        assert authority is not None
        report = audit.verify_chain(session, authority)
        assert report.ok, report.problems
        return report.ok


def ready(ex: Exchange, code: str, email: str, role: str = "officer") -> str:
    """A person who has replaced their one-time password with GOOD; their e-mail."""
    new = people.add_person(ex.engine, code, email, role)
    signed = people.sign_in(ex, new.email, new.password)
    people.set_password(ex, signed.person_id, GOOD,
                        keep_session=people.hash_token(signed.token))
    return new.email


# -- accounts ---------------------------------------------------------------------------------
def test_a_new_person_gets_a_one_time_password_kept_only_as_an_argon2_hash(
        app: FastAPI, authorities: Authorities) -> None:
    ex = exchange_of(app)
    new = people.add_person(ex.engine, "mx", "  Ana.Lopez@Cofepris.Example ", "Approver")
    assert (new.authority, new.email, new.role) == ("MX", "ana.lopez@cofepris.example",
                                                    "approver")
    assert len(new.password) >= people.MIN_PASSWORD
    stored = person(ex, new.email)
    assert stored.password_hash.startswith("$argon2id$")
    assert new.password not in stored.password_hash
    assert people.password_matches(stored.password_hash, new.password)
    assert stored.must_change_password and stored.failed_sign_ins == 0


@pytest.mark.parametrize(("authority", "email", "role", "message"), [
    ("ZZ", "a@b.example", "officer", "no authority with code 'ZZ'"),
    ("MX", "not-an-email", "officer", "EMAIL 'not-an-email' is not an e-mail address"),
    ("MX", "two@@b.example", "officer", "is not an e-mail address"),
    ("MX", "a b@c.example", "officer", "is not an e-mail address"),
    ("MX", "a@b.example", "admin", "--role 'admin': use officer, approver, observer"),
    ("MX", "taken@mx.example", "observer", "taken@mx.example exists already"),
    ("US", "TAKEN@mx.example", "observer", "taken@mx.example exists already"),
])
def test_bad_people_are_refused_with_a_reason(app: FastAPI, authorities: Authorities,
                                              authority: str, email: str, role: str,
                                              message: str) -> None:
    ex = exchange_of(app)
    people.add_person(ex.engine, "MX", "taken@mx.example", "officer")
    with pytest.raises(AdminError, match=message.replace("(", r"\(").replace(")", r"\)")):
        people.add_person(ex.engine, authority, email, role)


def test_admin_add_user_prints_a_password_and_bad_input_is_one_line(
        database: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PWATCH_EXCHANGE_SECRET_FILE", str(tmp_path / "exchange.secret"))
    if database.schema:
        monkeypatch.setenv("PWATCH_EXCHANGE_DB_SCHEMA", database.schema)
    db = ["--db", database.url]

    def run(*args: str) -> Any:
        return CliRunner().invoke(cli, ["admin", *args, *db])

    assert run("add-authority", "MX", "COFEPRIS").exit_code == 0
    added = run("add-user", "MX", "Officer@MX.example", "--role", "officer")
    assert added.exit_code == 0, added.output
    assert "officer@mx.example added to MX as officer" in added.output
    password = added.output.strip().splitlines()[-1]
    assert len(password) >= people.MIN_PASSWORD and " " not in password
    for args, said in [
        (("add-user", "MX", "officer@mx.example", "--role", "officer"), "exists already"),
        (("add-user", "XX", "new@mx.example", "--role", "officer"), "no authority with code"),
        (("add-user", "MX", "nobody", "--role", "officer"), "is not an e-mail address"),
        (("add-user", "MX", "new@mx.example", "--role", "boss"), "--role 'boss'"),
        (("disable-user", "ghost@mx.example"), "nobody with e-mail"),
    ]:
        refused = run(*args)
        assert refused.exit_code == 2, refused.output
        assert said in refused.output and "Traceback" not in refused.output
    listed = run("list-users")
    assert listed.exit_code == 0
    assert "MX\tofficer@mx.example\tofficer\tmust set a password" in listed.output
    assert run("disable-user", "officer@mx.example").exit_code == 0
    assert "\tdisabled" in run("list-users", "MX").output

    from precursorwatch.exchange.db import make_engine
    engine = make_engine(database.url, schema=database.schema)
    try:
        with engine.connect() as connection:
            stored = connection.execute(select(Person.password_hash)).scalar_one()
    finally:
        engine.dispose()
    assert stored.startswith("$argon2id$") and password not in stored


# -- sign-in ----------------------------------------------------------------------------------
def test_first_sign_in_asks_for_a_new_password_by_the_rules(
        app: FastAPI, authorities: Authorities) -> None:
    ex = exchange_of(app)
    new = people.add_person(ex.engine, "MX", "officer@mx.example", "officer")
    signed = people.sign_in(ex, "OFFICER@mx.example", new.password)
    assert signed.must_change_password
    keep = people.hash_token(signed.token)
    for password, problem in [("short pass", "too_short"),
                              (" Officer@MX.example ", "is_email"),
                              (new.password, "unchanged")]:
        with pytest.raises(people.PasswordRejected) as rejected:
            people.set_password(ex, signed.person_id, password, keep_session=keep)
        assert rejected.value.problem == problem
    assert str(rejected.value) == "The new password must differ from the current one."
    people.set_password(ex, signed.person_id, GOOD, keep_session=keep)
    after = person(ex, new.email)
    assert not after.must_change_password
    assert people.password_matches(after.password_hash, GOOD)
    session = people.session_user(ex, signed.token)
    assert session is not None and not session.must_change_password
    with pytest.raises(people.SignInRefused):
        people.sign_in(ex, new.email, new.password)  # the one-time password is spent


def test_five_wrong_passwords_lock_a_person_out_for_fifteen_minutes(
        app: FastAPI, authorities: Authorities, clock: Clock) -> None:
    ex = exchange_of(app)
    email = ready(ex, "MX", "officer@mx.example")
    other = ready(ex, "MX", "approver@mx.example", "approver")
    for attempt in range(1, 5):
        with pytest.raises(people.SignInRefused) as refused:
            people.sign_in(ex, email, f"wrong password {attempt}")
        assert refused.value.reason == "invalid"
    with pytest.raises(people.SignInRefused) as refused:
        people.sign_in(ex, email, "wrong password 5")
    assert refused.value.reason == "locked"
    assert refused.value.until == clock.now + people.LOCK_OUT
    clock.advance(minutes=14, seconds=59)
    with pytest.raises(people.SignInRefused) as refused:  # the right password, still locked
        people.sign_in(ex, email, GOOD)
    assert refused.value.reason == "locked"
    people.sign_in(ex, other, GOOD)  # counted per person: a colleague is not locked out
    clock.advance(seconds=1)
    assert not people.sign_in(ex, email, GOOD).must_change_password
    assert person(ex, email).failed_sign_ins == 0 and person(ex, email).locked_until is None

    mine = [action for action, actor in events(ex, "MX") if actor == email]
    assert mine == (["person.sign_in", "person.password_changed"]
                    + ["person.sign_in_failed"] * 5 + ["person.locked",
                                                       "person.sign_in_failed",
                                                       "person.sign_in"])
    assert chain_intact(ex, "MX")


def test_a_success_resets_the_count_of_wrong_passwords(
        app: FastAPI, authorities: Authorities) -> None:
    ex = exchange_of(app)
    email = ready(ex, "MX", "officer@mx.example")
    for _ in range(4):
        with pytest.raises(people.SignInRefused):
            people.sign_in(ex, email, "not it at all")
    people.sign_in(ex, email, GOOD)
    for _ in range(4):
        with pytest.raises(people.SignInRefused) as refused:
            people.sign_in(ex, email, "not it at all")
        assert refused.value.reason == "invalid"


def test_an_unknown_e_mail_is_refused_like_a_wrong_password_and_logged_outside_the_chains(
        app: FastAPI, authorities: Authorities, caplog: pytest.LogCaptureFixture) -> None:
    ex = exchange_of(app)
    ready(ex, "MX", "officer@mx.example")
    with ex.sessions() as session:
        before = session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    with caplog.at_level(logging.WARNING, logger="precursorwatch.people"), \
            pytest.raises(people.SignInRefused) as refused:
        people.sign_in(ex, "nobody@mx.example", GOOD)
    assert refused.value.reason == "invalid"
    assert str(refused.value) == "wrong e-mail or password"
    assert "nobody@mx.example" in caplog.text
    with ex.sessions() as session:
        assert session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc())
                              .limit(1)) == before


def test_a_disabled_person_cannot_sign_in_and_their_sessions_end(
        app: FastAPI, authorities: Authorities) -> None:
    ex = exchange_of(app)
    email = ready(ex, "MX", "officer@mx.example")
    token = people.sign_in(ex, email, GOOD).token
    assert people.session_user(ex, token) is not None
    people.disable_person(ex.engine, email)
    assert people.session_user(ex, token) is None
    with pytest.raises(people.SignInRefused) as refused:
        people.sign_in(ex, email, GOOD)
    assert refused.value.reason == "invalid"  # said as for a wrong password
    assert events(ex, "MX")[-1] == ("person.sign_in_failed", email)


# -- sessions ---------------------------------------------------------------------------------
def test_sessions_end_after_an_idle_hour(app: FastAPI, authorities: Authorities,
                                          clock: Clock) -> None:
    ex = exchange_of(app)
    email = ready(ex, "MX", "officer@mx.example")
    token = people.sign_in(ex, email, GOOD).token
    clock.advance(minutes=59)
    found = people.session_user(ex, token)
    assert found is not None and found.email == email and found.authority_code == "MX"
    clock.advance(minutes=59)  # an hour since sign-in, 59 minutes since the last request
    assert people.session_user(ex, token) is not None
    clock.advance(minutes=60)
    assert people.session_user(ex, token) is None
    with ex.sessions() as session:  # the ended session is gone from the table
        assert session.scalar(select(WebSession.token_hash).where(
            WebSession.token_hash == people.hash_token(token))) is None


def test_sessions_end_twelve_hours_after_sign_in_however_busy(
        app: FastAPI, authorities: Authorities, clock: Clock) -> None:
    ex = exchange_of(app)
    email = ready(ex, "MX", "officer@mx.example")
    token = people.sign_in(ex, email, GOOD).token
    for _ in range(14):  # a request every 50 minutes: 11 h 40 min
        clock.advance(minutes=50)
        assert people.session_user(ex, token) is not None
    clock.advance(minutes=20)
    assert people.session_user(ex, token) is None


def test_a_password_longer_than_allowed_never_matches() -> None:
    longest = "p" * people.MAX_PASSWORD
    stored = people.hash_password(longest)
    assert people.password_matches(stored, longest)
    assert not people.password_matches(stored, longest + "and more")
    assert not people.password_matches("not a hash", longest)


def test_unknown_and_absurd_tokens_open_nothing(app: FastAPI, authorities: Authorities) -> None:
    ex = exchange_of(app)
    for token in (None, "", "x" * 43, "y" * 10_000):
        assert people.session_user(ex, token) is None


def test_signing_out_ends_the_session_and_is_a_link_of_the_chain(
        app: FastAPI, authorities: Authorities) -> None:
    ex = exchange_of(app)
    email = ready(ex, "CN", "officer@cn.example")
    token = people.sign_in(ex, email, GOOD).token
    people.end_session(ex, token)
    assert people.session_user(ex, token) is None
    people.end_session(ex, token)  # again: nothing more happens
    assert [a for a, _ in events(ex, "CN")] == ["person.sign_in", "person.password_changed",
                                                "person.sign_in", "person.sign_out"]
    assert {actor for _, actor in events(ex, "CN")} == {email}
    assert events(ex, "MX") == []
    assert chain_intact(ex, "CN")


def test_changing_a_password_ends_the_other_sessions(
        app: FastAPI, authorities: Authorities) -> None:
    ex = exchange_of(app)
    email = ready(ex, "MX", "officer@mx.example")
    laptop = people.sign_in(ex, email, GOOD)
    phone = people.sign_in(ex, email, GOOD)
    with pytest.raises(people.WrongPassword):
        people.set_password(ex, laptop.person_id, "a brand new password",
                            current_password="not my password",
                            keep_session=people.hash_token(laptop.token))
    people.set_password(ex, laptop.person_id, "a brand new password", current_password=GOOD,
                        keep_session=people.hash_token(laptop.token))
    assert people.session_user(ex, laptop.token) is not None
    assert people.session_user(ex, phone.token) is None
    people.sign_in(ex, email, "a brand new password")
    assert chain_intact(ex, "MX")


def test_the_language_setting_is_kept(app: FastAPI, authorities: Authorities) -> None:
    ex = exchange_of(app)
    email = ready(ex, "MX", "officer@mx.example")
    signed = people.sign_in(ex, email, GOOD)
    people.set_language(ex, signed.person_id, "es")
    found = people.session_user(ex, signed.token)
    assert found is not None and found.language == "es"
    with pytest.raises(ValueError, match="language 'fr'"):
        people.set_language(ex, signed.person_id, "fr")
