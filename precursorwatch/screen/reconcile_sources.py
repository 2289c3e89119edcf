"""Where a reconciliation's inputs come from: the declarations file (read by the manifest
readers, so the same formats, line accounting and errors apply), the exchange's notifications
and permits (its database read-only, or its API), and the annual requirements file.

Chemistry goes through the Checker the screening uses, once per distinct text: a million
declarations of a few hundred goods texts cost a few hundred checks.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from precursorwatch.chem.cas import CasError, parse_cas
from precursorwatch.screen.columns import fold_header
from precursorwatch.screen.countries import country_code
from precursorwatch.screen.mentions import find_mentions
from precursorwatch.screen.model import Problem, Shipment
from precursorwatch.screen.readers import (
    Manifest,
    ManifestError,
    csv_record_blocks,
    detect_delimiter,
    detect_encoding,
    open_manifest,
)
from precursorwatch.screen.reconcile import (
    Declaration,
    NotifiedShipment,
    PermitView,
    ReconcileResult,
    Requirement,
    Substance,
    amount,
    bad_row_result,
    substance_from_verdict,
)
from precursorwatch.screen.validate import parse_row

if TYPE_CHECKING:
    from precursorwatch.detect.check import Checker

# Headers of the columns declarations add to the manifest columns (folded, see `fold_header`).
DECLARATION_ID_HEADERS = ("declarationid", "declaration", "declarationno", "declarationnumber",
                          "entryid", "entrynumber", "customsdeclaration", "mrn")
PERMIT_HEADERS = ("permit", "permitno", "permitnumber", "permitid", "importpermit",
                  "importpermitnumber", "licence", "license", "licenceno", "licenseno")
# The manifest column each declaration field is read from, for messages in the file's words.
_DECLARATION_NAMES = {"shipment_id": "declaration_id", "consignee_name": "importer",
                      "date": "arrival_date", "consignee_country": "importer_country"}


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


_MAP_HINT = re.compile(r"use --map (\w+)=YourHeader")


class SourceError(ValueError):
    """An input of the reconciliation cannot be read; the message says which and why."""


# -- chemistry -----------------------------------------------------------------------------------
class SubstanceResolver:
    """Goods texts and declared CAS numbers to Substances, each distinct text checked once."""

    def __init__(self, checker: Checker | None = None, *, as_of: dt.date | None = None,
                 jurisdictions: Sequence[str] | None = None) -> None:
        self._checker = checker
        self.as_of = as_of
        self.jurisdictions = list(jurisdictions) if jurisdictions else None
        self._verdicts: dict[str, dict[str, Any]] = {}
        self._goods: dict[tuple[str, str], Substance | None] = {}

    @property
    def checker(self) -> Checker:
        if self._checker is None:
            from precursorwatch.screen.engine import _screening_checker

            self._checker = _screening_checker()
        return self._checker

    def _check(self, texts: Iterable[str]) -> None:
        new = [t for t in dict.fromkeys(texts) if t and t not in self._verdicts]
        if new:
            found = self.checker.check_batch(new, as_of=self.as_of,
                                             jurisdictions=self.jurisdictions)
            for t, v in zip(new, found, strict=True):
                self._verdicts[t] = v.model_dump(mode="json")

    def identifiers(self, texts: Sequence[str]) -> list[Substance | None]:
        """Each identifier (name, CAS, SMILES...) as a Substance, None when unresolved."""
        self._check(texts)
        return [substance_from_verdict(self._verdicts[t]) if t else None for t in texts]

    def goods(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Substance | None]:
        """(description, declared CAS) -> the substance declared: the declared CAS number's
        chemical when it resolves, else the first controlled chemical the description names,
        else the first it names at all."""
        wanted = list(dict.fromkeys(pairs))
        new = [p for p in wanted if p not in self._goods]
        if new:
            cas_of: dict[str, str] = {}
            for _, cas in new:
                if cas and cas not in cas_of:
                    try:
                        cas_of[cas] = str(parse_cas(cas))
                    except CasError:
                        cas_of[cas] = ""
            mentions = {d: [m.text for m in find_mentions(d).candidates]
                        for d in dict.fromkeys(d for d, _ in new)}
            self._check([*cas_of.values(), *(t for ts in mentions.values() for t in ts)])
            for d, cas in new:
                declared = cas_of.get(cas, "") if cas else ""
                named = [s for t in mentions[d] if (s := substance_from_verdict(self._verdicts[t]))]
                first = substance_from_verdict(self._verdicts[declared]) if declared else None
                first = first or next((s for s in named if s.controlled), None) or \
                    next(iter(named), None)
                self._goods[(d, cas)] = first
        return {p: self._goods[p] for p in wanted}


# -- declarations --------------------------------------------------------------------------------
def _headers(path: Path) -> list[str]:
    """The header names of a declarations file, as the readers will see them."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".tsv", ".txt"):
            with path.open("rb") as fh:
                sample = fh.read(1 << 16)
            encoding = detect_encoding(sample)
            delimiter = detect_delimiter(sample.decode(encoding, errors="replace"))
            with path.open("r", encoding=encoding, errors="replace", newline="") as text:
                first = next(csv_record_blocks(text, delimiter, 1 << 16), [])
            cells = first[0] if first else []
            return [] if not isinstance(cells, list) else [
                h.strip().lstrip("\ufeff") for h in cells]
        if suffix in (".xlsx", ".xlsm"):
            import openpyxl

            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
            try:
                row = next(book.worksheets[0].iter_rows(values_only=True), ())
            finally:
                book.close()
            return [str(v).strip() if v is not None else "" for v in row]
        if suffix == ".parquet" or suffix == ".pq":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        if suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8-sig"))
            if isinstance(data, dict):
                lists = [v for v in data.values() if isinstance(v, list)]
                data = lists[0] if len(lists) == 1 else data.get("declarations", [])
            return _keys(data if isinstance(data, list) else [])
        if suffix in (".jsonl", ".ndjson"):
            objects: list[Any] = []
            with path.open("r", encoding="utf-8-sig", errors="replace") as fh:
                for line in fh:
                    if len(objects) >= 1000:
                        break
                    if line.strip():
                        try:
                            objects.append(json.loads(line))
                        except json.JSONDecodeError:
                            continue
            return _keys(objects)
    except Exception:  # the reader says what is wrong with the file, with every problem
        return []
    return []


def _keys(objects: Iterable[Any]) -> list[str]:
    keys: list[str] = []
    for obj in objects:
        if isinstance(obj, dict):
            keys.extend(str(k) for k in obj if k not in keys)
    return keys


def declaration_columns(headers: Sequence[str]) -> dict[str, str]:
    """The column map that reads declarations with the manifest readers: the declaration id
    as `shipment_id`, the permit column as `permit` (`importer` and `arrival_date` are
    recognised manifest headers already)."""
    by_fold = {fold_header(h): h for h in headers if h}
    mapping: dict[str, str] = {}
    if "shipmentid" not in by_fold:
        for f in DECLARATION_ID_HEADERS:
            if f in by_fold:
                mapping["shipment_id"] = by_fold[f]
                break
    for f in PERMIT_HEADERS:
        if f in by_fold:
            mapping["permit"] = by_fold[f]
            break
    return mapping


def open_declarations(path: str | Path) -> Manifest:
    """The declarations file opened with the manifest readers; ManifestError lists every
    file-level problem in the declarations' words."""
    p = Path(path)
    try:
        return open_manifest(p, declaration_columns(_headers(p) if p.is_file() else []))
    except ManifestError as exc:
        raise ManifestError(exc.path, [_in_declaration_words(pr, {}) for pr in exc.problems]
                            ) from exc


def _in_declaration_words(p: Problem, mapping: Mapping[str, str]) -> Problem:
    column = mapping.get(p.column) or _DECLARATION_NAMES.get(p.column, p.column)
    # The declarations' own column names, not `pwatch screen`'s --map.
    message = _MAP_HINT.sub(lambda m: "name a column "
                            + _DECLARATION_NAMES.get(m[1], m[1]), p.message)
    return Problem(p.row, column, p.value, message)


@dataclass(slots=True)
class DeclarationsRead:
    """The declarations of a file, and a BAD_ROW result for each line that is not one."""

    declarations: list[Declaration]
    bad: list[ReconcileResult]
    manifest: Manifest
    total: int


def _required(row: int, raw: Mapping[str, str], s: Shipment, mapping: Mapping[str, str]
              ) -> list[Problem]:
    problems = []
    if s.date is None:
        problems.append(Problem(row, "date", "", "empty; the arrival date is needed to match "
                                "notifications"))
    if not s.consignee_name:
        problems.append(Problem(row, "consignee_name", "", "empty; the importer is needed to "
                                "match notifications"))
    if s.quantity is None:
        problems.append(Problem(row, "quantity", "", "empty; the quantity is needed to count "
                                "against notifications"))
    return [_in_declaration_words(p, mapping) for p in problems]


def read_declarations(manifest: Manifest, resolver: SubstanceResolver, *,
                      default_country: str = "") -> DeclarationsRead:
    """Every data line of the file as a Declaration, or a BAD_ROW result naming the line and
    the field (the same row numbers as `pwatch screen`: row 1 is the line under the header)."""
    mapping = manifest.mapping
    parsed: list[tuple[Shipment, str]] = []
    bad: list[ReconcileResult] = []
    total = 0
    for row_no, raw in manifest.rows:
        total += 1
        if isinstance(raw, Problem):
            bad.append(bad_row_result(row_no, "", str(_in_declaration_words(raw, mapping))))
            continue
        item = parse_row(row_no, raw)
        if isinstance(item, Shipment):
            problems = _required(row_no, raw, item, mapping)
        else:
            problems = [_in_declaration_words(p, mapping) for p in item]
        if problems:
            bad.append(bad_row_result(row_no, raw.get("shipment_id", ""),
                                      "; ".join(str(p) for p in problems)))
            continue
        assert isinstance(item, Shipment)
        parsed.append((item, raw.get("permit", "")))
    goods = resolver.goods((s.description, s.cas) for s, _ in parsed)
    declarations = [
        Declaration(s.row, s.shipment_id, s.description, goods[(s.description, s.cas)],
                    s.consignee_name, s.consignee_country or default_country,
                    s.date or dt.date.min, s.quantity, s.unit, permit)  # date checked above
        for s, permit in parsed]
    return DeclarationsRead(declarations, bad, manifest, total)


# -- notifications and permits as served -----------------------------------------------------------
def _date(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def notified_shipment(served: Mapping[str, Any]) -> NotifiedShipment | None:
    """A notification as the API serves it (or as stored, with its status) for matching; None
    for one without a planned shipment date."""
    shipment_date = _date(served.get("planned_shipment_date"))
    if shipment_date is None:
        return None
    check = served.get("permit_check") or {}
    permit_id = str(check.get("permit_id") or "") if isinstance(check, Mapping) else ""
    cited = str(served.get("permit") or "").strip()
    exporter = served.get("exporter") or {}
    importer = served.get("importer") or {}
    return NotifiedShipment(
        id=str(served.get("id")), status=str(served.get("status") or "sent"),
        exporting_authority=str(served.get("exporting_authority") or ""),
        exporter=str(exporter.get("name") or ""), importer=str(importer.get("name") or ""),
        substance=substance_from_verdict(served.get("verdict") or {}),
        quantity=float(served.get("quantity") or 0), unit=str(served.get("unit") or ""),
        shipment_date=shipment_date, arrival_date=_date(served.get("planned_arrival_date")),
        permit_id=permit_id or (cited if _UUID.match(cited) else ""))


def permit_view(served: Mapping[str, Any]) -> PermitView | None:
    """A permit as the API serves it (`{"permit": {...}, "verdict", "revoked", "revocation"}`)."""
    doc = served.get("permit") or {}
    valid_from, valid_until = _date(doc.get("valid_from")), _date(doc.get("valid_until"))
    if not doc or valid_from is None or valid_until is None:
        return None
    revocation = served.get("revocation") or {}
    verdict = served.get("verdict") or {}
    checked = doc.get("checked") or {}
    substance = substance_from_verdict(verdict) or substance_from_verdict(
        {**checked, "input": doc.get("substance")})
    return PermitView(
        id=str(served.get("id") or doc.get("id")), permit_number=str(doc.get("permit_number")),
        issuer=str(doc.get("issuer") or served.get("issuer") or ""), substance=substance,
        quantity=float(doc.get("quantity") or 0), unit=str(doc.get("unit") or ""),
        importer=str((doc.get("importer") or {}).get("name") or ""), valid_from=valid_from,
        valid_until=valid_until, revoked_on=_date(revocation.get("at")),
        revocation_reason=str(revocation.get("reason") or ""))


@dataclass(slots=True)
class ExchangeRecords:
    """What the authority holds as importer: notifications (every version, with its status)
    and the permits it issued."""

    notifications: list[NotifiedShipment]
    permits: list[PermitView]
    source: str


def from_database(url: str, authority: str, *, schema: str | None = None,
                  now: dt.datetime | None = None) -> ExchangeRecords:
    """Read the exchange's database directly, read-only: the notifications `authority`
    received as importer, with the status each has now, and the permits it issued."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from precursorwatch.exchange.admin import AdminError
    from precursorwatch.exchange.db import make_engine
    from precursorwatch.exchange.models import (
        Authority,
        Notification,
        Permit,
        PermitRevocation,
    )
    from precursorwatch.exchange.records import current_status

    moment = now or dt.datetime.now(dt.UTC)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        # Opening a missing SQLite file would create an empty database: this is a read.
        raise SourceError(f"--db: no such SQLite database file: {url.removeprefix('sqlite:///')}")
    try:
        engine = make_engine(url, schema=schema)
    except AdminError as exc:
        raise SourceError(str(exc)) from exc
    notifications_q = (
        select(Notification.rendered, Notification.status, Notification.reply_deadline)
        .join(Authority, Authority.id == Notification.importer_id)
        .where(Authority.code == authority)
        .order_by(Notification.created_at, Notification.id))
    permits_q = (
        select(Permit.rendered, PermitRevocation.reason, PermitRevocation.created_at)
        .join(Authority, Authority.id == Permit.issuer_id)
        .outerjoin(PermitRevocation, PermitRevocation.permit_id == Permit.id)
        .where(Authority.code == authority)
        .order_by(Permit.created_at, Permit.id))
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            else:
                connection.exec_driver_sql("PRAGMA query_only = ON")
            known = connection.execute(select(Authority.id).where(Authority.code == authority)
                                       ).first()
            if known is None:
                codes = [r[0] for r in connection.execute(select(Authority.code))]
                raise SourceError(f"--authority: no authority {authority!r} in the exchange "
                                  f"database; it has: {', '.join(sorted(codes)) or 'none'}")
            notifications = []
            for rendered, stored, deadline in connection.execute(notifications_q):
                served = json.loads(rendered)
                served["status"] = current_status(stored, deadline, moment)
                if (n := notified_shipment(served)) is not None:
                    notifications.append(n)
            permits = []
            for rendered, reason, revoked_at in connection.execute(permits_q):
                served = json.loads(rendered)
                if revoked_at is not None:
                    served["revocation"] = {"reason": reason, "at": revoked_at.isoformat()}
                if (p := permit_view(served)) is not None:
                    permits.append(p)
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        first = (str(cause).splitlines() or [type(cause).__name__])[0]
        if "no such column" in first or ("column" in first and "does not exist" in first):
            # A database last served by an older version, whose tables lack newer columns.
            first += (f"; bring its tables up to date with `pwatch admin migrate --db {url}` "
                      "(the server also does it on start)")
        raise SourceError(f"--db: cannot read the exchange database: {first}") from exc
    finally:
        engine.dispose()
    return ExchangeRecords(notifications, permits, f"database {engine.url!r}, authority "
                           f"{authority}")


def from_exchange(url: str, api_key: str, *, page: int = 500, timeout: float = 30.0,
                  transport: Any = None) -> ExchangeRecords:
    """Page through the exchange's API as the authority holding `api_key`: the notifications
    it receives (`GET /v1/notifications?direction=incoming`) and the permits it issued
    (`GET /v1/permits?role=issued`, when the exchange serves permits)."""
    import httpx

    base = url.rstrip("/")
    headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}

    def pages(path: str, params: Mapping[str, str], optional: bool = False
              ) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            try:
                r = client.get(f"{base}{path}", params={**params, "limit": page,
                                                         "offset": offset})
            except httpx.HTTPError as exc:
                raise SourceError(f"--exchange: cannot reach {base}: {exc}") from exc
            if optional and r.status_code in (404, 405):
                return
            if r.status_code == 401:
                raise SourceError("--key-file: the exchange refused the key (401)")
            if r.status_code >= 400:
                raise SourceError(f"--exchange: {path} answered {r.status_code}: {r.text[:200]}")
            items = r.json().get("items", [])
            yield from items
            if len(items) < page:
                return
            offset += page

    with httpx.Client(headers=headers, timeout=timeout, transport=transport) as client:
        notifications = [n for served in pages("/v1/notifications", {"direction": "incoming"})
                         if (n := notified_shipment(served)) is not None]
        permits = [p for served in pages("/v1/permits", {"role": "issued"}, optional=True)
                   if (p := permit_view(served)) is not None]
    return ExchangeRecords(notifications, permits, f"exchange {base}")


# -- annual requirements --------------------------------------------------------------------------
def load_requirements(path: str | Path, resolver: SubstanceResolver) -> list[Requirement]:
    """Annual legitimate requirements from YAML (`requirements: [{country, substance, year,
    quantity, unit}]`, with `country` also allowed at the top) or CSV with those columns.
    SourceError names the entry and field of every problem."""
    p = Path(path)
    if not p.is_file():
        raise SourceError(f"--requirements: no such file {p}")
    entries: list[tuple[str, Mapping[str, Any]]] = []
    top_country = ""
    source = ""
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("requirements"), list):
                raise SourceError(f"--requirements: {p}: expected a mapping with a "
                                  "'requirements' list")
            top_country = str(data.get("country") or "")
            source = str(data.get("source") or "")
            entries = [(f"requirements[{i}]", e) for i, e in enumerate(data["requirements"])]
        elif p.suffix.lower() == ".csv":
            with p.open(newline="", encoding="utf-8-sig") as fh:
                entries = [(f"line {i}", {k.strip().lower(): v for k, v in row.items() if k})
                           for i, row in enumerate(csv.DictReader(fh), start=2)]
        else:
            raise SourceError(f"--requirements: {p}: use a .yaml or .csv file")
    except (yaml.YAMLError, UnicodeDecodeError, csv.Error) as exc:
        raise SourceError(f"--requirements: {p} cannot be read: {exc}") from exc
    problems: list[str] = []
    rows: list[tuple[str, str, int, float, str, str]] = []
    for where, e in entries:
        if not isinstance(e, Mapping):
            problems.append(f"{where}: expected a mapping of country, substance, year, "
                            "quantity, unit")
            continue
        country = country_code(str(e.get("country") or top_country))
        substance = str(e.get("substance") or "").strip()
        unit = str(e.get("unit") or "kg").strip()
        try:
            year = int(str(e.get("year")))
        except ValueError:
            problems.append(f"{where}, field 'year': {e.get('year')!r} is not a year")
            continue
        try:
            quantity = float(str(e.get("quantity")))
        except ValueError:
            problems.append(f"{where}, field 'quantity': {e.get('quantity')!r} is not a number")
            continue
        if not substance:
            problems.append(f"{where}, field 'substance': empty")
        elif len(country) != 2:
            problems.append(f"{where}, field 'country': {country!r} is not a country")
        elif amount(quantity, unit) is None:
            problems.append(f"{where}, field 'unit': {unit!r} is not a mass or volume unit")
        else:
            rows.append((country, substance, year, quantity, unit,
                         str(e.get("source") or source)))
    found = resolver.identifiers([r[1] for r in rows])
    out: list[Requirement] = []
    for (country, substance, year, quantity, unit, src), s in zip(rows, found, strict=True):
        if s is None:
            problems.append(f"substance {substance!r} ({country} {year}) could not be identified")
            continue
        out.append(Requirement(country, s, year, quantity, unit, src))
    if problems:
        raise SourceError(f"--requirements: {p}:\n" + "\n".join(f"  {x}" for x in problems))
    return out

