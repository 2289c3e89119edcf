"""`pwatch serve` and `pwatch admin ...`: the exchange's commands.

Heavy imports (FastAPI, SQLAlchemy, uvicorn) happen inside the commands, so the rest of the
CLI starts fast. Mistakes (bad URL, unknown authority, unreachable database) exit 2 with one
line saying what is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from precursorwatch.exchange.settings import ExchangeSettings

_err = Console(stderr=True, highlight=False, soft_wrap=True)
_out = Console(highlight=False, soft_wrap=True)

DbOption = Annotated[str | None, typer.Option(
    "--db", help="Database URL: sqlite:///FILE (default sqlite:///pwatch-exchange.db in the "
                 "working directory) or postgresql+psycopg://USER@HOST/DB. "
                 "Env: PWATCH_EXCHANGE_DB.", show_default=False)]

admin_app = typer.Typer(name="admin", help="Administer the exchange: database, authorities, "
                        "API keys, web app users, audit.", no_args_is_help=True)

T = TypeVar("T")


def _fail(message: str) -> NoReturn:
    _err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(2)


@contextmanager
def _plain_errors() -> Iterator[None]:
    """Admin mistakes and database trouble as one line, not a traceback."""
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    from precursorwatch.exchange.errors import AdminError

    try:
        yield
    except AdminError as exc:
        _fail(str(exc))
    except OperationalError as exc:
        _fail(f"cannot use the database: {str(exc.orig).strip().splitlines()[0]}")
    except SQLAlchemyError as exc:
        _fail(f"database error: {str(exc).splitlines()[0]}")


def _settings(db: str | None) -> ExchangeSettings:
    from precursorwatch.exchange.settings import ExchangeSettings

    try:
        return ExchangeSettings.from_env(db_url=db)
    except ValueError as exc:
        _fail(str(exc))


def _with_engine(db: str | None, action: Callable[[Engine, ExchangeSettings], T]) -> T:
    from precursorwatch.exchange.admin import open_database

    settings = _settings(db)
    with _plain_errors():
        engine = open_database(settings)
        try:
            return action(engine, settings)
        finally:
            engine.dispose()


@admin_app.command("migrate")
def migrate_command(db: DbOption = None) -> None:
    """Create or upgrade the exchange's tables (the server also does this on start)."""
    _with_engine(db, lambda engine, settings: None)
    _out.print("database is at the newest schema")


@admin_app.command("add-authority")
def add_authority_command(
    code: Annotated[str, typer.Argument(help="Short code, e.g. MX or US-DEA.")],
    name: Annotated[str, typer.Argument(help="The authority's name.")],
    reply_days: Annotated[int, typer.Option(
        "--reply-days", help="Days this authority has to answer notifications it imports.")
    ] = 14,
    db: DbOption = None,
) -> None:
    """Register an authority; prints its API key once (only a hash is kept) and its public
    signing key."""
    from precursorwatch.exchange.admin import add_authority
    from precursorwatch.exchange.signing import KeyVault

    def run(engine: Engine, settings: ExchangeSettings) -> None:
        vault = KeyVault.open(settings.secret, settings.secret_file)
        issued = add_authority(engine, vault, code, name, reply_days=reply_days)
        _out.print(f"authority {issued.code} ({issued.name}) added", markup=False)
        _out.print(f"public key: {issued.public_key}", markup=False)
        _out.print("API key (shown only now, store it safely):")
        print(issued.api_key)

    _with_engine(db, run)


@admin_app.command("rotate-key")
def rotate_key_command(code: Annotated[str, typer.Argument(help="Authority code.")],
                       db: DbOption = None) -> None:
    """Issue a new API key; the old one stops working at once."""
    from precursorwatch.exchange.admin import rotate_key

    issued = _with_engine(db, lambda engine, settings: rotate_key(engine, code))
    _out.print(f"new API key for {issued.code} (shown only now):", markup=False)
    print(issued.api_key)


@admin_app.command("revoke-key")
def revoke_key_command(code: Annotated[str, typer.Argument(help="Authority code.")],
                       db: DbOption = None) -> None:
    """Withdraw an authority's API key (its records and signatures stay verifiable)."""
    from precursorwatch.exchange.admin import revoke_key

    _with_engine(db, lambda engine, settings: revoke_key(engine, code))
    _out.print(f"API key of {code.strip().upper()} revoked", markup=False)


@admin_app.command("add-user")
def add_user_command(
    authority: Annotated[str, typer.Argument(help="Code of the person's authority, e.g. MX.")],
    email: Annotated[str, typer.Argument(help="The person's e-mail: what they sign in with.")],
    role: Annotated[str, typer.Option(
        "--role", help="observer: reads only; officer: also sends notifications and reports "
                       "incidents; approver: also answers notifications.",
        show_default=False)],
    db: DbOption = None,
) -> None:
    """Let a person sign in to the web app for an authority; prints a one-time password
    (only a hash is kept), which they replace at their first sign-in."""
    from precursorwatch.exchange.people import add_person

    added = _with_engine(db, lambda engine, settings: add_person(engine, authority, email, role))
    _out.print(f"{added.email} added to {added.authority} as {added.role}", markup=False)
    _out.print("one-time password (shown only now; it must be changed at the first sign-in):")
    print(added.password)


@admin_app.command("list-users")
def list_users_command(
    authority: Annotated[str | None, typer.Argument(
        help="Only this authority's people.", show_default=False)] = None,
    db: DbOption = None,
) -> None:
    """The people who may sign in to the web app, with their role and state."""
    from precursorwatch.exchange.people import list_people

    listed = _with_engine(db, lambda engine, settings: list_people(engine, authority))
    if not listed:
        _out.print("nobody yet (add people with `pwatch admin add-user`)", markup=False)
    for p in listed:
        state = ("disabled" if p.disabled_at is not None
                 else "must set a password" if p.must_change_password else "active")
        if p.disabled_at is None and p.locked_until is not None:
            state += f", locked until {p.locked_until.isoformat(timespec='minutes')}"
        print(f"{p.authority}\t{p.email}\t{p.role}\t{state}")  # tab-separated, for scripts


@admin_app.command("disable-user")
def disable_user_command(
    email: Annotated[str, typer.Argument(help="The person's e-mail.")],
    db: DbOption = None,
) -> None:
    """Stop a person signing in; their open sessions end now (what they did stays in the
    audit chain)."""
    from precursorwatch.exchange.people import disable_person

    _with_engine(db, lambda engine, settings: disable_person(engine, email))
    _out.print(f"{email.strip().lower()} can no longer sign in", markup=False)


@admin_app.command("verify-audit")
def verify_audit_command(
    db: DbOption = None,
    receipt: Annotated[list[str] | None, typer.Option(
        "--receipt", help="CODE:SEQ:HASH, a receipt an authority kept (its Audit-Receipt "
                          "header, or a head printed here before); repeatable. The chain must "
                          "still hold that link as it was.", show_default=False)] = None,
) -> None:
    """Re-check every authority's audit chain and records; exit 1 if anything was changed
    behind the service's back. Prints each chain's head: keep it outside the database, and a
    chain cut back behind it shows next time with --receipt."""
    from precursorwatch.exchange.admin import verify_audit
    from precursorwatch.exchange.audit import Receipt

    receipts: dict[str, list[Receipt]] = {}
    for given in receipt or ():
        code, sep, rest = given.partition(":")
        try:
            if not sep or not code.strip():
                raise ValueError(f"receipt {given!r}: expected CODE:SEQ:HASH")
            receipts.setdefault(code.strip().upper(), []).append(Receipt.parse(rest))
        except ValueError as exc:
            _fail(f"--receipt: {exc}")
    reports = _with_engine(db, lambda engine, settings: verify_audit(engine, receipts))
    broken = 0
    for report in reports:
        head = f", head {report.authority}:{report.head}" if report.head else ""
        if report.ok:
            _out.print(f"{report.authority}: {report.entries} entries, intact{head}")
            continue
        broken += 1
        _out.print(f"[bold red]{report.authority}: {len(report.problems)} problem(s)[/]{head}")
        for p in report.problems:
            where = f"link {p.seq}" if p.seq is not None else "unlogged"
            _out.print(f"  {where} {p.record_type or ''} {p.record_id or ''}: {p.problem}",
                       markup=False)
    if broken:
        raise typer.Exit(1)


EventsOption = Annotated[list[str] | None, typer.Option(
    "--events", help="Event kinds to be told of (repeatable or comma-separated; default all): "
                     "notification.received, notification.deadline, notification.answered, "
                     "incident.shared, permit.revoked, alert.received, alert.outcome.",
    show_default=False)]


@admin_app.command("add-webhook")
def add_webhook_command(
    authority: Annotated[str, typer.Argument(help="Code of the authority told, e.g. MX.")],
    url: Annotated[str, typer.Argument(help="http(s) URL the events are POSTed to.")],
    events: EventsOption = None,
    db: DbOption = None,
) -> None:
    """Tell an authority of its records by signed POSTs to URL; prints the signing secret
    once (see docs/deliveries.md for checking the X-PWatch-Signature header)."""
    from precursorwatch.exchange.dispatch import subscribe
    from precursorwatch.exchange.signing import KeyVault

    def run(engine: Engine, settings: ExchangeSettings) -> None:
        vault = KeyVault.open(settings.secret, settings.secret_file)
        made = subscribe(engine, vault, authority, "webhook", url, events or ())
        _out.print(f"webhook {made.id} of {made.authority}: {made.target} "
                   f"({', '.join(made.events)})", markup=False)
        _out.print("signing secret (shown only now, give it to the receiver):")
        print(made.secret)

    _with_engine(db, run)


@admin_app.command("add-email")
def add_email_command(
    authority: Annotated[str, typer.Argument(help="Code of the authority told, e.g. MX.")],
    address: Annotated[str, typer.Argument(help="E-mail address the events are sent to.")],
    events: EventsOption = None,
    db: DbOption = None,
) -> None:
    """Tell an authority of its records by e-mail (mail server: PWATCH_SMTP_HOST, _PORT,
    _USER, _PASSWORD, _FROM, _STARTTLS)."""
    from precursorwatch.exchange.dispatch import subscribe
    from precursorwatch.exchange.signing import KeyVault

    def run(engine: Engine, settings: ExchangeSettings) -> None:
        vault = KeyVault.open(settings.secret, settings.secret_file)
        made = subscribe(engine, vault, authority, "email", address, events or ())
        _out.print(f"e-mail {made.id} of {made.authority}: {made.target} "
                   f"({', '.join(made.events)})", markup=False)

    _with_engine(db, run)


@admin_app.command("remove-subscription")
def remove_subscription_command(
    authority: Annotated[str, typer.Argument(help="Code of the authority.")],
    subscription: Annotated[int, typer.Argument(help="Its number (list-deliveries).")],
    db: DbOption = None,
) -> None:
    """Stop a webhook or e-mail subscription (its delivery log stays)."""
    from precursorwatch.exchange.dispatch import unsubscribe

    _with_engine(db, lambda engine, settings: unsubscribe(engine, authority, subscription))
    _out.print(f"subscription {subscription} of {authority.strip().upper()} stopped",
               markup=False)


@admin_app.command("list-deliveries")
def list_deliveries_command(
    authority: Annotated[str, typer.Argument(help="Code of the authority.")],
    limit: Annotated[int, typer.Option("--limit", help="Recent attempts shown.")] = 20,
    db: DbOption = None,
) -> None:
    """An authority's subscriptions and its latest delivery attempts (tab-separated)."""
    from precursorwatch.exchange.dispatch import recent_attempts, subscriptions

    subs, attempts = _with_engine(db, lambda engine, settings: (
        subscriptions(engine, authority), recent_attempts(engine, authority, limit)))
    if not subs:
        _out.print("no subscriptions (add one with `pwatch admin add-webhook` or "
                   "`add-email`)", markup=False)
    for sub in subs:
        print(f"subscription\t{sub.id}\t{sub.channel}\t{sub.target}\t{','.join(sub.events)}")
    for a in attempts:
        answer = str(a.status_code) if a.status_code is not None else "-"
        print(f"attempt\t{a.at.isoformat(timespec='seconds')}\t{a.subscription_id}\t"
              f"{a.event}\t{a.record_id}\ttry {a.number}\t{a.state}\t{answer}\t"
              f"{a.duration_ms} ms\t{a.error or ''}")


@admin_app.command("deliver")
def deliver_command(
    once: Annotated[bool, typer.Option(
        "--once", help="One pass, then exit (for cron); without it, pass every "
                       "PWATCH_DELIVER_INTERVAL seconds until stopped.")] = False,
    db: DbOption = None,
) -> None:
    """Find new events and send due webhooks and e-mails (what `pwatch serve` does in the
    background)."""
    import time

    from precursorwatch.exchange.dispatch import Dispatcher, reading_exchange
    from precursorwatch.exchange.signing import KeyVault

    def run(engine: Engine, settings: ExchangeSettings) -> None:
        vault = KeyVault.open(settings.secret, settings.secret_file)
        dispatcher = Dispatcher(reading_exchange(engine, settings, vault))
        try:
            while True:
                report = dispatcher.run_once()
                _out.print(f"{report.found} new events, {report.delivered} delivered, "
                           f"{report.retrying} to retry, {report.given_up} given up",
                           markup=False)
                if once:
                    return
                time.sleep(settings.deliver_interval)
        except KeyboardInterrupt:  # Ctrl-C between passes ends it quietly
            return
        finally:
            dispatcher.close()

    _with_engine(db, run)


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(
        "--workers", help="Worker processes (PostgreSQL only; they share rate limits).")] = 1,
    access_log: Annotated[bool, typer.Option(
        "--access-log/--no-access-log", help="Log one line per request.")] = True,
) -> None:
    """Run the exchange service (migrates the database first). OpenAPI page at /docs."""
    import uvicorn

    from precursorwatch.exchange.signing import KeyVault

    if not 1 <= port <= 65535:
        _fail(f"--port {port}: give 1-65535")
    if not 1 <= workers <= 64:
        _fail(f"--workers {workers}: give 1-64")
    settings = _settings(db)
    if workers > 1 and settings.db_url.startswith("sqlite"):
        _fail(f"--workers {workers}: SQLite is served by one process (it takes one writer at "
              "a time, and rate limits count in the process); use PostgreSQL "
              "(--db postgresql+psycopg://...) for more workers")
    from precursorwatch.exchange.service import party_matcher
    from precursorwatch.screen.watchlist import WatchlistError

    try:  # a bad watchlist is said here, not in every worker's traceback
        party_matcher(settings.watchlists)
    except WatchlistError as exc:
        _fail(f"PWATCH_EXCHANGE_WATCHLIST: {exc}")
    _with_engine(db, lambda engine, s: None)  # migrate once, before any worker starts
    with _plain_errors():
        KeyVault.open(settings.secret, settings.secret_file)  # create the secret once, too
    os.environ["PWATCH_EXCHANGE_DB"] = settings.db_url
    os.environ.setdefault("PWATCH_DELIVER", "1")  # deliveries run beside the service
    from precursorwatch.exchange.http import server_options

    uvicorn.run("precursorwatch.exchange.app:serving_app", factory=True, host=host, port=port,
                workers=workers, log_level="info", access_log=access_log, **server_options())
