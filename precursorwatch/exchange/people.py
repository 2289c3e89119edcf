"""People who sign in to the web app for an authority: accounts, sign-in, sessions.

Passwords are kept only as Argon2id hashes. Five wrong passwords in a row lock a person out
for 15 minutes. A browser holds a random session token; only its SHA-256 is stored, and a
session ends 12 hours after sign-in or after an hour without a request, whichever comes first.

Every sign-in, failed sign-in, lock-out, sign-out and password change is a link of the person's
authority's audit chain, under the person's e-mail. A failed sign-in for an e-mail nobody has
belongs to no authority's chain; it is logged (`logging`) instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, Engine, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from precursorwatch.exchange import audit
from precursorwatch.exchange.db import session_factory
from precursorwatch.exchange.errors import AdminError
from precursorwatch.exchange.models import Authority, Person, WebSession
from precursorwatch.exchange.records import iso
from precursorwatch.exchange.service import Exchange
from precursorwatch.exchange.signing import content_hash

log = logging.getLogger("precursorwatch.people")

Role = Literal["officer", "approver", "observer"]
ROLES: tuple[Role, ...] = get_args(Role)
LANGUAGES = ("en", "es", "zh")

MAX_FAILURES = 5  # consecutive wrong passwords before a lock-out
LOCK_OUT = dt.timedelta(minutes=15)
SESSION_LIFETIME = dt.timedelta(hours=12)  # from sign-in, however active
SESSION_IDLE = dt.timedelta(hours=1)  # since the last request
# A session's last request is written at most this often: not a write per page.
_SEEN_EVERY = dt.timedelta(seconds=60)
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # hashing cost grows with the length; no real password is longer

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")

_hasher = PasswordHasher()  # Argon2id with the library's defaults (RFC 9106, low memory)
_dummy_hash: str | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    """Whether `password` is the one hashed; one longer than any allowed is not (its check
    costs the same, on a password of allowed length)."""
    too_long = len(password) > MAX_PASSWORD
    try:
        return _hasher.verify(password_hash, password[:MAX_PASSWORD]) and not too_long
    except (VerificationError, InvalidHashError):
        return False


def _spend_a_check(password: str) -> None:
    """As long as checking a real password, so an unknown e-mail takes the same time."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
    password_matches(_dummy_hash, password)


def normal_email(email: str) -> str:
    return email.strip().lower()


# -- password rules ---------------------------------------------------------------------------
PasswordProblem = Literal["too_short", "too_long", "is_email", "unchanged"]

PASSWORD_PROBLEMS: dict[PasswordProblem, str] = {
    "too_short": f"The password must have at least {MIN_PASSWORD} characters.",
    "too_long": f"The password must have at most {MAX_PASSWORD} characters.",
    "is_email": "The password must not be your e-mail address.",
    "unchanged": "The new password must differ from the current one.",
}


class PasswordRejected(ValueError):
    """A new password that breaks a rule; `problem` names which (PASSWORD_PROBLEMS)."""

    def __init__(self, problem: PasswordProblem) -> None:
        super().__init__(PASSWORD_PROBLEMS[problem])
        self.problem = problem


def password_problem(password: str, email: str) -> PasswordProblem | None:
    """The first rule a new password breaks, or None: at least 12 characters, and not the
    person's e-mail address (in any case, with or without spaces around it)."""
    if len(password) < MIN_PASSWORD:
        return "too_short"
    if len(password) > MAX_PASSWORD:
        return "too_long"
    if password.strip().lower() == normal_email(email):
        return "is_email"
    return None


# -- accounts (pwatch admin) ------------------------------------------------------------------
@dataclass(frozen=True)
class NewPerson:
    """A person as shown once to the administrator, with their one-time password."""

    authority: str
    email: str
    role: Role
    password: str


@dataclass(frozen=True)
class PersonListed:
    authority: str
    email: str
    role: str
    must_change_password: bool
    locked_until: dt.datetime | None
    disabled_at: dt.datetime | None


def check_role(role: str) -> Role:
    cleaned = role.strip().lower()
    if cleaned not in ROLES:
        raise AdminError(f"--role {role!r}: use {', '.join(ROLES)}")
    return cast(Role, cleaned)


def check_email(email: str) -> str:
    cleaned = normal_email(email)
    if len(cleaned) > 254 or not EMAIL.match(cleaned):
        raise AdminError(f"EMAIL {email!r} is not an e-mail address (e.g. officer@cofepris.gob.mx)")
    return cleaned


def add_person(engine: Engine, authority_code: str, email: str, role: str, *,
               now: dt.datetime | None = None) -> NewPerson:
    """A person who signs in for the authority, with a one-time password (returned; only its
    hash is kept) that they must replace at their first sign-in."""
    code = authority_code.strip().upper()
    cleaned = check_email(email)
    checked = check_role(role)
    password = secrets.token_urlsafe(12)  # 16 characters, 96 random bits
    hashed = hash_password(password)
    try:
        with session_factory(engine).begin() as session:
            authority = session.scalar(select(Authority).where(Authority.code == code))
            if authority is None:
                raise AdminError(f"no authority with code {authority_code!r} "
                                 "(add it first with `pwatch admin add-authority`)")
            if session.scalar(select(Person.id).where(Person.email == cleaned)) is not None:
                raise AdminError(f"{cleaned} exists already")
            session.add(Person(authority_id=authority.id, email=cleaned, role=checked,
                               password_hash=hashed, must_change_password=True,
                               failed_sign_ins=0, locked_until=None, language=None,
                               created_at=now or _now(), disabled_at=None))
    except IntegrityError as exc:  # added by someone else meanwhile
        raise AdminError(f"{cleaned} exists already") from exc
    return NewPerson(code, cleaned, checked, password)


def list_people(engine: Engine, authority_code: str | None = None) -> list[PersonListed]:
    """Everyone who may sign in (and those disabled), by authority and e-mail."""
    query = (select(Authority.code, Person).join(Authority, Authority.id == Person.authority_id)
             .order_by(Authority.code, Person.email))
    with session_factory(engine)() as session:
        if authority_code is not None:
            code = authority_code.strip().upper()
            if session.scalar(select(Authority.id).where(Authority.code == code)) is None:
                raise AdminError(f"no authority with code {authority_code!r}")
            query = query.where(Authority.code == code)
        return [PersonListed(code, p.email, p.role, p.must_change_password, p.locked_until,
                             p.disabled_at) for code, p in session.execute(query).all()]


def disable_person(engine: Engine, email: str, *, now: dt.datetime | None = None) -> None:
    """The person can no longer sign in, and their open sessions end now. Their records and
    audit links stay."""
    cleaned = normal_email(email)
    with session_factory(engine).begin() as session:
        person = session.scalar(select(Person).where(Person.email == cleaned))
        if person is None:
            raise AdminError(f"nobody with e-mail {email!r}")
        if person.disabled_at is None:
            person.disabled_at = now or _now()
        session.execute(delete(WebSession).where(WebSession.person_id == person.id))


# -- audit ------------------------------------------------------------------------------------
def _log_event(session: Session, chain: audit.Chain, person: Person, action: str,
               now: dt.datetime, **detail: str) -> None:
    """A link in the person's authority's chain (locked by the caller) naming the event."""
    event = {"event": action, "person": person.email, "authority": chain.authority.code,
             "at": iso(now), **detail}
    audit.append(session, chain, action=action, record_type=audit.EVENT,
                 record_id=str(person.id), record_hash=content_hash(event), at=now,
                 actor=person.email)



def _lock_person(session: Session, email: str) -> tuple[audit.Chain, Person] | None:
    """The person and their authority's chain, locked for the rest of the transaction (as
    every write to the chain does first), so their failure count is counted one at a time."""
    authority_id = session.scalar(select(Person.authority_id).where(Person.email == email))
    if authority_id is None:
        return None
    chain = audit.lock_chain(session, authority_id)
    person = session.scalar(select(Person).where(Person.email == email))
    return None if person is None else (chain, person)


# -- sign-in and sessions ---------------------------------------------------------------------
@dataclass(frozen=True)
class SignedIn:
    """A new session: `token` goes in the browser's cookie and is not kept here."""

    token: str
    person_id: int
    must_change_password: bool


Refusal = Literal["invalid", "locked"]


class SignInRefused(Exception):
    """`invalid`: wrong e-mail or password (which of the two is not said), or a disabled
    person; `locked`: too many wrong passwords, until `until`."""

    def __init__(self, reason: Refusal, until: dt.datetime | None = None) -> None:
        super().__init__("locked out" if reason == "locked" else "wrong e-mail or password")
        self.reason = reason
        self.until = until


def start_session(session: Session, person: Person, now: dt.datetime) -> str:
    """A new session of the person (in the caller's transaction); returns the cookie token.
    Sessions of theirs that have ended are cleared on the way."""
    session.execute(delete(WebSession).where(
        WebSession.person_id == person.id,
        (WebSession.expires_at <= now) | (WebSession.last_seen_at <= now - SESSION_IDLE)))
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=hash_token(token), person_id=person.id,
                           csrf_token=secrets.token_urlsafe(32), created_at=now,
                           last_seen_at=now, expires_at=now + SESSION_LIFETIME))
    return token


def sign_in(ex: Exchange, email: str, password: str) -> SignedIn:
    """A session for the person with this e-mail and password, or `SignInRefused`.

    The password is checked before the chain is locked (the check is slow on purpose);
    an unknown e-mail costs as long, so timing does not tell which e-mails exist."""
    cleaned = normal_email(email)[:254]
    stored = ex.read(lambda c: c.execute(
        select(Person.password_hash).where(Person.email == cleaned)).scalar())
    if stored is None:
        _spend_a_check(password)
        log.warning("failed sign-in for an e-mail nobody has: %r", cleaned)
        raise SignInRefused("invalid")
    matches = password_matches(stored, password)
    refusal: SignInRefused | None = None
    signed: SignedIn | None = None
    with ex.writing() as session:
        now = ex.now()
        found = _lock_person(session, cleaned)
        if found is None:  # removed meanwhile
            refusal = SignInRefused("invalid")
        else:
            chain, person = found
            if person.disabled_at is not None:
                _log_event(session, chain, person, "person.sign_in_failed", now,
                           reason="disabled")
                refusal = SignInRefused("invalid")
            elif person.locked_until is not None and person.locked_until > now:
                _log_event(session, chain, person, "person.sign_in_failed", now,
                           reason="locked")
                refusal = SignInRefused("locked", person.locked_until)
            elif not matches or person.password_hash != stored:
                person.failed_sign_ins += 1
                _log_event(session, chain, person, "person.sign_in_failed", now,
                           reason="wrong_password")
                refusal = SignInRefused("invalid")
                if person.failed_sign_ins >= MAX_FAILURES:
                    person.locked_until = now + LOCK_OUT
                    person.failed_sign_ins = 0
                    _log_event(session, chain, person, "person.locked", now,
                               until=iso(person.locked_until))
                    refusal = SignInRefused("locked", person.locked_until)
            else:
                person.failed_sign_ins = 0
                person.locked_until = None
                if _hasher.check_needs_rehash(person.password_hash):
                    person.password_hash = hash_password(password)
                token = start_session(session, person, now)
                _log_event(session, chain, person, "person.sign_in", now)
                signed = SignedIn(token, person.id, person.must_change_password)
    if refusal is not None:  # raised only now: the failure and its link are committed
        raise refusal
    assert signed is not None
    return signed


@dataclass(frozen=True)
class SessionPerson:
    """Who a live session belongs to, and for which authority."""

    token_hash: str
    person_id: int
    email: str
    role: Role
    language: str | None
    authority_id: int
    authority_code: str
    authority_name: str
    csrf_token: str
    must_change_password: bool


_SESSION_ROW = (
    select(WebSession.csrf_token, WebSession.last_seen_at, WebSession.expires_at,
           Person.id, Person.email, Person.role, Person.language, Person.must_change_password,
           Person.disabled_at, Authority.id, Authority.code, Authority.name)
    .join_from(WebSession, Person, Person.id == WebSession.person_id)
    .join(Authority, Authority.id == Person.authority_id)
)


def session_alive(now: dt.datetime, last_seen_at: dt.datetime, expires_at: dt.datetime) -> bool:
    """Within 12 hours of sign-in and within an hour of the last request."""
    return now < expires_at and now < last_seen_at + SESSION_IDLE


def session_user(ex: Exchange, token: str | None) -> SessionPerson | None:
    """The person whose live session the cookie token opens, or None. A session past its
    time, or of a disabled person, is deleted; a live one is marked as seen now (at most
    once a minute, so most pages write nothing)."""
    if not token or len(token) > 128:
        return None
    token_hash = hash_token(token)
    row = ex.read(lambda c: c.execute(_SESSION_ROW.where(WebSession.token_hash == token_hash))
                  .first())
    if row is None:
        return None
    (csrf, last_seen, expires, person_id, email, role, language, must_change, disabled,
     authority_id, code, name) = row
    now = ex.now()
    if disabled is not None or not session_alive(now, last_seen, expires):
        with ex.writing() as session:
            session.execute(delete(WebSession).where(WebSession.token_hash == token_hash))
        return None
    if now - last_seen >= _SEEN_EVERY:
        with ex.writing() as session:
            session.execute(update(WebSession).where(WebSession.token_hash == token_hash)
                            .values(last_seen_at=now))
    return SessionPerson(token_hash, person_id, email, cast(Role, role), language, authority_id,
                         code, name, csrf, must_change)


def end_session(ex: Exchange, token: str | None) -> None:
    """Sign out: the session is deleted, and the sign-out is a link of the chain."""
    if not token or len(token) > 128:
        return
    token_hash = hash_token(token)
    with ex.writing() as session:
        email = session.scalar(select(Person.email).join(
            WebSession, WebSession.person_id == Person.id).where(
            WebSession.token_hash == token_hash))
        if email is None:
            return
        found = _lock_person(session, email)
        deleted = cast(CursorResult[Any], session.execute(
            delete(WebSession).where(WebSession.token_hash == token_hash)))
        if found is not None and deleted.rowcount:  # not signed out meanwhile
            _log_event(session, found[0], found[1], "person.sign_out", ex.now())


class WrongPassword(ValueError):
    """The current password given to change it is not the person's."""

    def __init__(self) -> None:
        super().__init__("The current password is wrong.")


def set_password(ex: Exchange, person_id: int, new_password: str, *,
                 current_password: str | None = None, keep_session: str | None = None
                 ) -> None:
    """Replace the person's password; their other sessions end (all but the session whose
    token hash is `keep_session`), and the change is a link of the chain.

    `current_password` is checked when given (a change by choice); the first change after a
    one-time password needs none, the session was opened with it moments ago. The new
    password must follow the rules (`PasswordRejected`) and differ from the current one."""
    row = ex.read(lambda c: c.execute(select(Person.email, Person.password_hash)
                                      .where(Person.id == person_id)).first())
    if row is None:
        raise WrongPassword()
    email, stored = row
    if current_password is not None and not password_matches(stored, current_password):
        raise WrongPassword()
    problem = password_problem(new_password, email)
    if problem is None and password_matches(stored, new_password):
        problem = "unchanged"
    if problem is not None:
        raise PasswordRejected(problem)
    hashed = hash_password(new_password)
    with ex.writing() as session:
        now = ex.now()
        found = _lock_person(session, email)
        if found is None:
            raise WrongPassword()
        chain, person = found
        person.password_hash = hashed
        person.must_change_password = False
        person.failed_sign_ins = 0
        person.locked_until = None
        others = delete(WebSession).where(WebSession.person_id == person.id)
        if keep_session is not None:
            others = others.where(WebSession.token_hash != keep_session)
        session.execute(others)
        _log_event(session, chain, person, "person.password_changed", now)


def set_language(ex: Exchange, person_id: int, language: str | None) -> None:
    """The language the web app speaks to the person; None: from the browser's settings."""
    if language is not None and language not in LANGUAGES:
        raise ValueError(f"language {language!r}: use {', '.join(LANGUAGES)}")
    with ex.writing() as session:
        session.execute(update(Person).where(Person.id == person_id).values(language=language))
