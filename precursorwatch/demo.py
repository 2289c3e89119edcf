"""`pwatch demo`: the exchange and its web app on this machine, with three authorities, their
people and a few weeks of traffic (notifications, import permits, shipment alerts, incidents),
to try the web app without setting anything up.

The first run seeds a SQLite database (and its secret file) in `.pwatch-demo/` through the
same service functions the API and the web app call; later runs find it and only serve it. The
seeding writes to a side file that takes the database's name only once complete, so an
interrupted first run leaves nothing half-seeded behind. A database seeded by an earlier
version is given what it lacks (MX's import permits, CN's shipment alerts) and nothing twice;
`rm -r .pwatch-demo` seeds it afresh. The demo sign-ins are printed: their password is public,
so the server listens on the loopback address unless told otherwise.

Heavy imports (the exchange, uvicorn) happen inside the functions, so the rest of the CLI
starts fast.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from fastapi import FastAPI

    from precursorwatch.exchange.scope import Caller
    from precursorwatch.exchange.service import Exchange
    from precursorwatch.exchange.settings import ExchangeSettings
    from precursorwatch.screen.model import ShipmentResult
    from precursorwatch.screen.share import Flagged

DEMO_DB = Path(".pwatch-demo") / "exchange.db"
# Public on purpose: printed by `pwatch demo` and in the README. Demo people need not change it.
DEMO_PASSWORD = "precursor-demo-2026"
KEYS_SUFFIX = ".api-keys.json"


@dataclass(frozen=True)
class DemoAuthority:
    code: str
    name: str
    reply_days: int
    language: str  # the language its people read the web app in
    domain: str


AUTHORITIES: tuple[DemoAuthority, ...] = (
    DemoAuthority("CN", "National Narcotics Control Commission (NNCC)", 14, "zh", "cn.example"),
    DemoAuthority("MX", "COFEPRIS", 7, "es", "mx.example"),
    DemoAuthority("US", "Drug Enforcement Administration (DEA)", 14, "en", "us.example"),
)
ROLES = ("officer", "approver", "observer")


@dataclass(frozen=True)
class DemoPerson:
    authority: str
    email: str
    role: str
    language: str | None


def demo_people() -> list[DemoPerson]:
    """Three people per authority: officer@, approver@ and observer@ its demo domain."""
    return [DemoPerson(a.code, f"{role}@{a.domain}", role, a.language)
            for a in AUTHORITIES for role in ROLES]


def demo_settings(db: Path, secret_file: Path) -> ExchangeSettings:
    from precursorwatch.exchange.settings import ExchangeSettings

    return ExchangeSettings(db_url=f"sqlite:///{db}", secret_file=secret_file)


# -- the traffic ------------------------------------------------------------------------------
PARTIES: dict[str, dict[str, str]] = {
    "CN": {"name": "Hubei Example Chemical Co., Ltd.",
           "address": "12 Example Road, Donghu District, Wuhan", "country": "CN"},
    "MX": {"name": "Química Ejemplo S.A. de C.V.",
           "address": "Av. Ejemplo 100, Zapopan, Jalisco", "country": "MX"},
    "US": {"name": "Example Pharma Ingredients LLC",
           "address": "400 Example Blvd, Newark, NJ", "country": "US"},
}


@dataclass(frozen=True)
class DemoNotification:
    """One notification of the demo: who sends what to whom, `days_ago` it was sent, and the
    importer's answer, if any (decision, reason)."""

    key: str
    exporter: str
    importer: str
    substance: str
    quantity: float
    unit: str
    days_ago: int
    transit: tuple[str, ...] = ()
    answer: tuple[str, str | None] | None = None
    point_of_entry: str = "Manzanillo"
    mode: str = "sea"
    permit: str | None = None  # the key of the demo permit it cites


NOTIFICATIONS: tuple[DemoNotification, ...] = (
    DemoNotification("october", "CN", "US", "propionyl chloride", 200, "kg", 45,
                     answer=("no_objection", None), point_of_entry="Long Beach"),
    # Never answered by MX within its 7 days: reads as expired, overdue in MX's inbox.
    DemoNotification("overdue", "CN", "MX", "4-anilinopiperidine", 50, "kg", 20,
                     transit=("US",)),
    DemoNotification("objection", "CN", "MX", "4-piperidone hydrochloride monohydrate", 25,
                     "kg", 9, transit=("US",),
                     answer=("objection", "The importer holds no licence for this substance; "
                                          "the shipment is to be stopped at Manzanillo.")),
    DemoNotification("cleared", "US", "CN", "acetic anhydride", 2000, "l", 6,
                     answer=("no_objection", None), point_of_entry="Shanghai"),
    DemoNotification("designer", "MX", "US", "1-benzylpiperidin-4-ol", 5, "kg", 3,
                     point_of_entry="Laredo", mode="road"),
    DemoNotification("npp", "CN", "US", "NPP", 10, "kg", 1,
                     point_of_entry="Long Beach"),
    DemoNotification("ephedrine", "US", "MX", "ephedrine hydrochloride", 100, "kg", 0,
                     point_of_entry="Nuevo Laredo", mode="road"),
    DemoNotification("pseudoephedrine", "MX", "CN", "pseudoephedrine sulfate", 200, "kg", 0,
                     point_of_entry="Shanghai"),
    # Cites MX's import permit: the notification page shows the permit checked on receipt.
    DemoNotification("permitted", "CN", "MX", "NPP", 20, "kg", 2, permit="npp"),
)


@dataclass(frozen=True)
class DemoPermit:
    """An import permit MX issues `days_ago`, valid `valid_days` from then, for goods from a
    CN exporter; revoked (days ago, reason) when given."""

    key: str
    number: str
    substance: str
    quantity: float
    unit: str
    days_ago: int
    valid_days: int
    revoked: tuple[int, str] | None = None


PERMITS: tuple[DemoPermit, ...] = (
    DemoPermit("npp", "COFEPRIS-2026-000118", "NPP", 50, "kg", 12, 180),
    DemoPermit("revoked", "COFEPRIS-2026-000087", "4-piperidone hydrochloride monohydrate",
               25, "kg", 30, 180,
               revoked=(10, "The importer's licence for fentanyl precursors was suspended "
                            "after an inspection at its Zapopan warehouse.")),
)


@dataclass(frozen=True)
class DemoAlert:
    """A shipment of the sample manifest CN shares as an alert `days_ago`, and the answer of
    the authority it was shared with, if any: (days ago, outcome, note)."""

    shipment_id: str
    share_with: str
    days_ago: int
    outcome: tuple[int, str, str] | None = None


ALERTS: tuple[DemoAlert, ...] = (
    DemoAlert("PW-2611-033", "MX", 5),
    DemoAlert("PW-2611-037", "MX", 5, outcome=(3, "seized", "Opened at the Manzanillo courier "
                                                  "hub: 20 kg of 4-piperidone declared as dog "
                                                  "food; seized and referred to the FGR.")),
    DemoAlert("PW-2611-040", "MX", 4, outcome=(2, "inspected_clear", "Inspected at the courier "
                                                   "hub: NPP as declared, covered by import "
                                                   "permit COFEPRIS-2026-000118.")),
    DemoAlert("PW-2611-045", "US", 4),
)


def notification_body(n: DemoNotification, today: dt.date,
                      permit_id: str | None = None) -> dict[str, Any]:
    """The API body of the demo notification, shipping a fortnight after it was sent, citing
    the permit `permit_id` when given."""
    return {
        "substance": n.substance, "quantity": n.quantity, "unit": n.unit,
        "exporter": PARTIES[n.exporter], "importer": PARTIES[n.importer],
        "importing_authority": n.importer, "transit_authorities": list(n.transit),
        "transit_countries": list(n.transit),
        "planned_shipment_date": (today + dt.timedelta(days=14)).isoformat(),
        "point_of_entry": n.point_of_entry, "mode": n.mode,
        **({"permit": permit_id} if permit_id else {}),
    }


def permit_body(p: DemoPermit, today: dt.date) -> dict[str, Any]:
    """The API body of the demo permit: MX's importer, CN's exporter, valid from today."""
    return {
        "permit_number": p.number, "substance": p.substance, "quantity": p.quantity,
        "unit": p.unit, "importer": PARTIES["MX"], "exporter_country": "CN",
        "exporter": PARTIES["CN"], "valid_from": today.isoformat(),
        "valid_until": (today + dt.timedelta(days=p.valid_days)).isoformat(),
    }


def sample_manifest() -> Path:
    return Path(str(files("precursorwatch.samples").joinpath("manifest.csv")))


@cache
def screened_sample() -> tuple[ShipmentResult, ...]:
    """The bundled sample manifest screened (once per process)."""
    from precursorwatch.screen.engine import screen_file

    return tuple(screen_file(sample_manifest()).results)


def screened_shipment() -> tuple[dict[str, str], dict[str, Any]]:
    """The riskiest line of the bundled sample manifest and its screening result (Contract 2)."""
    manifest = sample_manifest()
    result = max(screened_sample(), key=lambda r: (r.risk, -r.row)).to_dict()
    with manifest.open(encoding="utf-8", newline="") as f:
        line = next(row for row in csv.DictReader(f) if row["shipment_id"] == result["shipment_id"])
    return line, result


def screened_incident(line: dict[str, str], result: dict[str, Any], today: dt.date
                      ) -> dict[str, Any]:
    """An incident reporting a screened shipment stopped, its red flags as the modus operandi."""
    chemical = next((c for c in result["chemicals"] if c["verdict"] != "clear"), None)
    flags = "; ".join(f"{f['code']} ({f['detail']})" for f in result["flags"])
    return {
        "kind": "stopped_shipment",
        "substance": chemical["input"] if chemical else line["description"],
        "quantity": float(line["quantity"]), "unit": line["unit"],
        "incident_date": today.isoformat(),
        "parties": [
            {"role": "shipper", "name": line["shipper_name"], "address": line["shipper_address"],
             "country": line["shipper_country"]},
            {"role": "consignee", "name": line["consignee_name"],
             "address": line["consignee_address"], "country": line["consignee_country"]}],
        "route": [c for c in (line["shipper_country"], line["consignee_country"]) if c],
        "modus_operandi": f"Screened manifest line {result['shipment_id']} "
                          f"({line['description']}): risk {result['risk']} ({result['level']}); "
                          f"{flags}",
        "notes": "Held at the courier hub after screening; shared with every authority.",
        "shared_with": "all",
    }


def seizure_incident(today: dt.date, notification_id: str) -> dict[str, Any]:
    return {
        "kind": "seizure", "substance": "4-piperidone hydrochloride monohydrate",
        "quantity": 25, "unit": "kg", "incident_date": (today - dt.timedelta(days=2)).isoformat(),
        "parties": [{"role": "importer", **PARTIES["MX"]}, {"role": "exporter", **PARTIES["CN"]}],
        "route": ["CN", "US", "MX"],
        "modus_operandi": "Declared as a cosmetics ingredient under HS 3304; the notification "
                          "for it had been objected to.",
        "shared_with": ["CN", "US"], "notification_ids": [notification_id],
    }


# -- seeding ----------------------------------------------------------------------------------
class DemoClock:
    """The exchange's clock while seeding: `days_ago` days behind the real one, so records of
    the past weeks are stored as of then (and a deadline can pass)."""

    def __init__(self) -> None:
        self.days_ago = 0

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) - dt.timedelta(days=self.days_ago)


def enrol(ex: Exchange, person: DemoPerson, password: str) -> int:
    """Add the person with `password` as their own (no change asked at sign-in) and their
    language; their id."""
    from precursorwatch.exchange import people

    first = people.add_person(ex.engine, person.authority, person.email, person.role,
                              now=ex.now())
    # As the person would at their first sign-in: the one-time password for the given one.
    signed = people.sign_in(ex, first.email, first.password)
    people.set_password(ex, signed.person_id, password)
    people.end_session(ex, signed.token)
    people.set_language(ex, signed.person_id, person.language)
    return signed.person_id


Step = tuple[int, Callable[[], None]]  # days ago, and what is done then


def run_steps(clock: DemoClock, steps: list[Step]) -> None:
    """The steps oldest first (in their given order on one day), each on its day, so every
    authority's audit chain reads in time order."""
    for days_ago, step in sorted(steps, key=lambda s: -s[0]):
        clock.days_ago = days_ago
        step()
    clock.days_ago = 0


def demo_caller(ex: Exchange) -> Callable[[str, str], Caller]:
    """`by(code, role)`: the authority `code` acting through its demo person of `role`."""
    from precursorwatch.exchange.scope import Caller
    from precursorwatch.exchange.service import public_authorities

    callers = {a.code: Caller(a.id, a.code, a.name) for a in public_authorities(ex)}

    def by(code: str, role: str) -> Caller:
        base = callers[code]
        domain = next(a.domain for a in AUTHORITIES if a.code == code)
        return Caller(base.id, base.code, base.name, person=f"{role}@{domain}")

    return by


def notification_step(ex: Exchange, by: Callable[[str, str], Caller], n: DemoNotification,
                      sent: dict[str, str], permits: dict[str, str]) -> Callable[[], None]:
    """Send the notification (and its answer at once, when it has one)."""
    from precursorwatch.exchange.notifications import answer_notification, send_notification
    from precursorwatch.exchange.schemas import NotificationIn, ResponseIn

    def step() -> None:
        body = NotificationIn.model_validate_json(json.dumps(notification_body(
            n, ex.now().date(), permits[n.permit] if n.permit else None)))
        written = send_notification(ex, by(n.exporter, "officer"), body)
        sent[n.key] = json.loads(written.text)["id"]
        if n.answer is not None:
            decision, reason = n.answer
            answer = ResponseIn.model_validate_json(
                json.dumps({"decision": decision, "reason": reason}))
            answer_notification(ex, by(n.importer, "approver"), sent[n.key], answer)

    return step


def permit_steps(ex: Exchange, by: Callable[[str, str], Caller], sent: dict[str, str]
                 ) -> list[Step]:
    """MX's import permits (one revoked later), and the notifications citing them."""
    from precursorwatch.exchange.permit_store import issue_permit, revoke_permit
    from precursorwatch.exchange.permits import PermitIn, RevokeIn

    issued: dict[str, str] = {}
    steps: list[Step] = []
    for p in PERMITS:
        def issue(p: DemoPermit = p) -> None:
            body = PermitIn.model_validate_json(json.dumps(permit_body(p, ex.now().date())))
            written = issue_permit(ex, by("MX", "approver"), body)
            issued[p.key] = json.loads(written.text)["id"]

        steps.append((p.days_ago, issue))
        if p.revoked is not None:
            days_ago, reason = p.revoked

            def revoke(p: DemoPermit = p, reason: str = reason) -> None:
                revoke_permit(ex, by("MX", "approver"), issued[p.key],
                              RevokeIn.model_validate_json(json.dumps({"reason": reason})))

            steps.append((days_ago, revoke))
    steps += [(n.days_ago, notification_step(ex, by, n, sent, issued))
              for n in NOTIFICATIONS if n.permit is not None]
    return steps


def alert_steps(ex: Exchange, by: Callable[[str, str], Caller]) -> list[Step]:
    """CN shares high-risk shipments of the sample manifest it screened; MX answers some."""
    from precursorwatch.exchange.alerts import AlertIn, OutcomeIn, record_outcome, send_alert
    from precursorwatch.screen.share import default_reason, flagged_shipments

    flagged = {f.shipment["shipment_id"]: f for f in
               flagged_shipments(sample_manifest(), {}, screened_sample(), "high")}
    shared: dict[str, str] = {}
    steps: list[Step] = []
    for a in ALERTS:
        f = flagged[a.shipment_id]

        def share(a: DemoAlert = a, f: Flagged = f) -> None:
            data = AlertIn.model_validate_json(json.dumps({
                "shipment": f.shipment, "screening": f.screening,
                "reason": f"{default_reason(f.screening)} Manifest manifest.csv, row "
                          f"{f.screening['row']}.",
                "share_with": [a.share_with], "reference": f"{f.reference}:{a.share_with}"}))
            shared[a.shipment_id] = json.loads(send_alert(ex, by("CN", "officer"), data).text
                                               )["id"]

        steps.append((a.days_ago, share))
        if a.outcome is not None:
            days_ago, outcome, note = a.outcome

            def answer(a: DemoAlert = a, outcome: str = outcome, note: str = note) -> None:
                record_outcome(ex, by(a.share_with, "officer"), shared[a.shipment_id],
                               OutcomeIn.model_validate_json(
                                   json.dumps({"outcome": outcome, "note": note})))

            steps.append((days_ago, answer))
    return steps


def seed(ex: Exchange, clock: DemoClock) -> dict[str, str]:
    """Authorities, people and traffic of the demo, written through the service; the
    authorities' API keys by code."""
    from precursorwatch.exchange.admin import add_authority
    from precursorwatch.exchange.incidents import report_incident
    from precursorwatch.exchange.schemas import IncidentIn

    earliest = max(*(n.days_ago for n in NOTIFICATIONS), *(p.days_ago for p in PERMITS),
                   *(a.days_ago for a in ALERTS)) + 1
    clock.days_ago = earliest
    keys: dict[str, str] = {}
    for a in AUTHORITIES:
        issued = add_authority(ex.engine, ex.vault, a.code, a.name, reply_days=a.reply_days,
                               now=ex.now())
        keys[a.code] = issued.api_key
    for p in demo_people():
        enrol(ex, p, DEMO_PASSWORD)
    by = demo_caller(ex)

    sent: dict[str, str] = {}
    steps: list[Step] = [(n.days_ago, notification_step(ex, by, n, sent, {}))
                         for n in NOTIFICATIONS if n.permit is None]
    steps += permit_steps(ex, by, sent)
    steps += alert_steps(ex, by)

    def incidents() -> None:
        today = ex.now().date()
        report_incident(ex, by("MX", "officer"), IncidentIn.model_validate_json(
            json.dumps(seizure_incident(today, sent["objection"]))))
        line, result = screened_shipment()
        report_incident(ex, by("US", "officer"), IncidentIn.model_validate_json(
            json.dumps(screened_incident(line, result, today))))

    steps.append((0, incidents))
    run_steps(clock, steps)
    return keys


def seed_missing(ex: Exchange, clock: DemoClock) -> list[str]:
    """What a demo database seeded by an earlier version lacks, added: MX's permits (and the
    notification citing one) when MX has issued none, CN's alerts when CN has sent none. What
    was added, in words."""
    from precursorwatch.exchange.alerts import list_alerts
    from precursorwatch.exchange.permit_store import list_permits

    by = demo_caller(ex)
    added: list[str] = []
    steps: list[Step] = []
    if not list_permits(ex, by("MX", "approver"), role="issued", limit=1):
        steps += permit_steps(ex, by, {})
        added.append("import permits")
    if not list_alerts(ex, by("CN", "officer"), direction="outgoing", limit=1):
        steps += alert_steps(ex, by)
        added.append("shipment alerts")
    run_steps(clock, steps)
    return added


# -- the command ------------------------------------------------------------------------------
def sign_ins_text(host: str, port: int) -> str:
    lines = [f"Precursor Watch demo: http://{host}:{port}/ (Ctrl-C stops it)",
             f"Sign in with any of these (password for all: {DEMO_PASSWORD}):"]
    for a in AUTHORITIES:
        emails = ", ".join(p.email for p in demo_people() if p.authority == a.code)
        lines.append(f"  {a.code} {a.name} [{a.language}]: {emails}")
    lines.append("Roles: officer sends notifications and reports incidents; approver also "
                 "answers notifications; observer reads.")
    return "\n".join(lines)


def open_demo(db: Path, say: Callable[[str], None] = print) -> FastAPI:
    """The demo's app over the SQLite file `db` (the app `pwatch serve` serves), seeded first
    when the file does not exist. The secret file and the authorities' API keys lie beside it."""
    from precursorwatch.exchange.app import create_app

    db.parent.mkdir(parents=True, exist_ok=True)
    secret_file = db.with_suffix(".secret")
    checker = None
    if not db.exists():
        say(f"Seeding the demo database {db} (once) ...")
        partial = db.with_name(db.name + ".partial")
        partial.unlink(missing_ok=True)
        clock = DemoClock()
        seeding = create_app(demo_settings(partial, secret_file), clock=clock)
        keys = seed(seeding.state.exchange, clock)
        seeding.state.exchange.engine.dispose()
        checker = seeding.state.exchange.checker  # loaded once for both
        keys_file = db.with_name(db.name + KEYS_SUFFIX)
        keys_file.write_text(json.dumps(keys, indent=2) + "\n", encoding="utf-8")
        keys_file.chmod(0o600)
        partial.replace(db)
    else:
        say(f"Using the demo database {db}")
        # Its clock is the real one once seeding is done (days_ago back at 0).
        clock = DemoClock()
        current = create_app(demo_settings(db, secret_file), clock=clock)
        if (added := seed_missing(current.state.exchange, clock)):
            say(f"Added to the demo database: {' and '.join(added)}")
        return current
    return create_app(demo_settings(db, secret_file), checker=checker)


def demo_command(
    db: Annotated[Path, typer.Option(
        "--db", help="The demo's SQLite file (seeded when it does not exist); its secret file "
                     "and API keys lie beside it.", dir_okay=False)] = DEMO_DB,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    serve: Annotated[bool, typer.Option(
        "--serve/--no-serve", help="Serve the web app after seeding (--no-serve: seed only).")
    ] = True,
) -> None:
    """Seed a demo exchange (CN, MX, US, their people and traffic) once, then serve the web
    app and the API on http://HOST:PORT/ and print the demo sign-ins."""
    if not 1 <= port <= 65535:
        typer.echo(f"error: --port {port}: give 1-65535", err=True)
        raise typer.Exit(2)
    app = open_demo(db)
    typer.echo(sign_ins_text(host, port))
    typer.echo(f"API keys of CN, MX and US (for /v1): {db.with_name(db.name + KEYS_SUFFIX)}")
    if serve:
        run_server(app, host, port)


def run_server(app: FastAPI, host: str, port: int) -> None:
    import contextlib
    import gc

    import uvicorn

    from precursorwatch.exchange.http import server_options

    gc.collect()
    gc.freeze()  # as `pwatch serve` does: long-lived objects out of the collector's walks
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn stops cleanly, then passes it on
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                    lifespan="off", **server_options())
    print("Demo stopped; `pwatch demo` serves the same database again.")

