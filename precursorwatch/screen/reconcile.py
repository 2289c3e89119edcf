"""Reconciliation: customs import declarations against the notifications, permits and annual
requirements an importing authority holds.

Pure functions over typed values. Every declaration is matched per substance (its resolved
structure, so a name, a CAS number and a SMILES of one chemical are one substance), importer
(normalised name) and period (arrival inside a notification's shipment window). Each rule's
docstring in `FLAGS` is the explanation users read; each flag carries its evidence as data
(which notification or permit, quantities, window, requirement).

Work is split so large files scale: declarations are grouped by substance and importer, and
each group is matched on its own (`match_groups`, the part a Dask cluster runs); the checks
that cross groups (permits, annual requirements, notifications never used) follow in one pass
over the matches (`settle`).
"""

from __future__ import annotations

import datetime as dt
import pickle
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz, process

from precursorwatch.screen.names import normalise_name

DEFAULT_WINDOW_DAYS = 90
# An importer written differently from the notification ("Quimica Ejemplo" / "Quimca Ejemplo")
# still matches from this score (0-100) of its normalised name.
IMPORTER_MATCH_SCORE = 92.0
_EPSILON = 1e-9

_MASS_KG: dict[str, float] = {
    "kg": 1.0, "kgs": 1.0, "kilogram": 1.0, "kilograms": 1.0, "g": 1e-3, "gr": 1e-3,
    "gram": 1e-3, "grams": 1e-3, "mg": 1e-6, "t": 1e3, "mt": 1e3, "ton": 1e3, "tons": 1e3,
    "tonne": 1e3, "tonnes": 1e3, "lb": 0.45359237, "lbs": 0.45359237,
}
_VOLUME_L: dict[str, float] = {
    "l": 1.0, "lt": 1.0, "ltr": 1.0, "litre": 1.0, "litres": 1.0, "liter": 1.0, "liters": 1.0,
    "ml": 1e-3, "m3": 1e3,
}


@dataclass(frozen=True, slots=True)
class Amount:
    """A quantity in a base unit: kilograms for a mass, litres for a volume."""

    value: float
    base: str  # "kg" | "L"

    def __str__(self) -> str:
        return f"{_number(self.value)} {self.base}"


def amount(quantity: float | None, unit: str) -> Amount | None:
    """`quantity` in kg or L, or None when the unit is neither a mass nor a volume."""
    if quantity is None:
        return None
    found = _BASE_UNITS.get(unit)
    if found is None:
        u = unit.strip().lower().split("/")[0]
        found = _BASE_UNITS[unit] = ((_MASS_KG[u], "kg") if u in _MASS_KG
                                     else (_VOLUME_L[u], "L") if u in _VOLUME_L else (0.0, ""))
    return Amount(quantity * found[0], found[1]) if found[1] else None


_BASE_UNITS: dict[str, tuple[float, str]] = {}  # unit as written -> (factor, base unit)


def _number(value: float) -> str:
    return f"{value:,.3f}".rstrip("0").rstrip(".")


@lru_cache(maxsize=200_000)
def importer_key(name: str) -> str:
    """The key importers are matched on: significant words of the normalised name, sorted
    (legal forms, trade words and accents do not count: "Química Ejemplo S.A. de C.V." and
    "QUIMICA EJEMPLO SA" are one importer)."""
    if not name.strip():
        return ""
    n = normalise_name(name)
    return n.compact or " ".join(n.tokens)


@dataclass(frozen=True, slots=True)
class Substance:
    """A chemical as the Checker resolved it; `key` is what matching compares: the InChIKey of
    the parent structure (the Checker strips salts and hydrates, so "4-piperidone HCl H2O" and
    "4-piperidone" are one key; ephedrine and pseudoephedrine, stereoisomers with
    requirements of their own, are two)."""

    key: str
    name: str
    inchikey: str
    verdict: str
    contract: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def controlled(self) -> bool:
        return self.verdict == "controlled"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "inchikey": self.inchikey, "verdict": self.verdict}


def substance_from_verdict(verdict: Mapping[str, Any]) -> Substance | None:
    """The Substance of a Contract 1 object; None when it was not resolved."""
    if not verdict or verdict.get("verdict") in (None, "unresolved"):
        return None
    inchikey = str(verdict.get("inchikey") or "")
    name = str(verdict.get("name") or verdict.get("input") or "")
    key = inchikey or f"name:{name.lower()}"
    return Substance(key, name, inchikey, str(verdict.get("verdict")), verdict)


@dataclass(frozen=True, slots=True)
class Declaration:
    """One customs import declaration, validated."""

    row: int
    declaration_id: str
    description: str
    substance: Substance | None
    importer: str
    country: str  # the importing country (ISO alpha-2), "" when unknown
    arrival: dt.date
    quantity: float | None
    unit: str
    permit: str = ""  # a permit number or id the declaration cites
    amount: Amount | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", amount(self.quantity, self.unit))


@dataclass(frozen=True, slots=True)
class NotifiedShipment:
    """A notification the authority received as importer (the newest version of it)."""

    id: str
    status: str  # sent | no_objection | objection | expired | superseded
    exporting_authority: str
    exporter: str
    importer: str
    substance: Substance | None
    quantity: float
    unit: str
    shipment_date: dt.date
    arrival_date: dt.date | None = None
    permit_id: str = ""  # the permit it cites, as the exchange found it
    amount: Amount | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", amount(self.quantity, self.unit))

    def window(self, days: int) -> tuple[dt.date, dt.date]:
        """Arrivals that count against it: from the planned shipment date to `days` after
        the planned arrival (or shipment) date, both ends included."""
        end = (self.arrival_date or self.shipment_date) + dt.timedelta(days=days)
        return self.shipment_date, end


@dataclass(frozen=True, slots=True)
class PermitView:
    """An import permit as the reconciliation reads it."""

    id: str
    permit_number: str
    issuer: str
    substance: Substance | None
    quantity: float
    unit: str
    importer: str
    valid_from: dt.date
    valid_until: dt.date
    revoked_on: dt.date | None = None
    revocation_reason: str = ""
    amount: Amount | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", amount(self.quantity, self.unit))


@dataclass(frozen=True, slots=True)
class Requirement:
    """A country's annual legitimate requirement of a substance for one calendar year."""

    country: str
    substance: Substance
    year: int
    quantity: float
    unit: str
    source: str = ""
    amount: Amount | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", amount(self.quantity, self.unit))


@dataclass(frozen=True, slots=True)
class ReconcileFlag:
    code: str
    weight: int
    detail: str
    evidence: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "weight": self.weight, "detail": self.detail,
                "evidence": dict(self.evidence)}


@dataclass(slots=True)
class ReconcileResult:
    """One declaration's result (`kind` "declaration"), or a notification no import arrived
    for (`kind` "notification")."""

    kind: str
    id: str  # the declaration id, or the notification id
    row: int | None
    flags: tuple[ReconcileFlag, ...] = ()
    substance: Substance | None = None
    importer: str = ""
    country: str = ""
    arrival: dt.date | None = None
    quantity: float | None = None
    unit: str = ""
    notification_id: str | None = None
    permit_id: str | None = None
    description: str = ""
    notes: tuple[str, ...] = ()

    @property
    def risk(self) -> int:
        return min(100, sum(f.weight for f in self.flags))

    @property
    def level(self) -> str:
        return level_of(self.risk)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "declaration_id" if self.kind == "declaration" else "notification_id": self.id,
            "row": self.row, "risk": self.risk, "level": self.level,
            "substance": self.substance.to_dict() if self.substance else None,
            "importer": self.importer, "country": self.country,
            "arrival_date": self.arrival.isoformat() if self.arrival else None,
            "quantity": self.quantity, "unit": self.unit,
            **({"notification_id": self.notification_id} if self.kind == "declaration" else {}),
            "permit_id": self.permit_id,
            "flags": [f.to_dict() for f in self.flags],
            "notes": list(self.notes),
        }


def level_of(risk: int) -> str:
    return "high" if risk >= 60 else "medium" if risk >= 30 else "low" if risk > 0 else "none"


# -- the rules: code -> (weight, explanation) ---------------------------------------------------
def import_without_notification() -> None:
    """A controlled substance was imported and no notification of it (same substance, same
    importer, arrival inside the shipment window) was received, or only one the authority
    objected to."""


def quantity_above_notified() -> None:
    """The imports counted against a notification add up to more than the notified quantity
    (units converted); the detail says by how much."""


def notification_never_arrived() -> None:
    """A notification was answered with no objection, and no import of it arrived within the
    window after its planned shipment date."""


def permit_exceeded() -> None:
    """The imports under a permit add up to more than the permitted quantity."""


def permit_revoked() -> None:
    """The permit the import relies on was revoked before the goods arrived."""


def permit_expired() -> None:
    """The goods arrived outside the validity of the permit they rely on."""


def permit_unknown() -> None:
    """The declaration cites a permit the authority has no record of."""


def above_annual_requirement() -> None:
    """The country's imports of the substance in the calendar year add up to more than its
    annual legitimate requirement."""


def bad_row() -> None:
    """The declaration line could not be read; the detail names the line and field."""


_RULES = (
    ("IMPORT_WITHOUT_NOTIFICATION", 60, import_without_notification),
    ("QUANTITY_ABOVE_NOTIFIED", 40, quantity_above_notified),
    ("NOTIFICATION_NEVER_ARRIVED", 30, notification_never_arrived),
    ("PERMIT_EXCEEDED", 40, permit_exceeded),
    ("PERMIT_REVOKED", 60, permit_revoked),
    ("PERMIT_EXPIRED", 40, permit_expired),
    ("PERMIT_UNKNOWN", 40, permit_unknown),
    ("ABOVE_ANNUAL_REQUIREMENT", 30, above_annual_requirement),
    ("BAD_ROW", 0, bad_row),
)
WEIGHTS: dict[str, int] = {code: w for code, w, _ in _RULES}
FLAG_CODES: tuple[str, ...] = tuple(WEIGHTS)


def explanations() -> dict[str, str]:
    """Rule code -> the explanation users read (the rule's docstring)."""
    return {code: " ".join((func.__doc__ or "").split()) for code, _, func in _RULES}


def _flag(code: str, detail: str, **evidence: Any) -> ReconcileFlag:
    return ReconcileFlag(code, WEIGHTS[code], detail, evidence)


def bad_row_result(row: int, declaration_id: str, detail: str) -> ReconcileResult:
    return ReconcileResult("declaration", declaration_id or f"row {row}", row,
                           (_flag("BAD_ROW", detail),))


# -- matching ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Options:
    window_days: int = DEFAULT_WINDOW_DAYS
    # Notifications whose window closed before this day can be "never arrived" (the command
    # passes --as-of, default today; the default here flags none).
    as_of: dt.date = dt.date(1970, 1, 1)
    importer_score: float = IMPORTER_MATCH_SCORE


GroupKey = tuple[str, str]  # (substance key, importer key of the notifications)


@dataclass(slots=True)
class NotificationIndex:
    """Notifications by (substance key, importer key), superseded versions left out."""

    by_group: dict[GroupKey, list[NotifiedShipment]]
    importers_of: dict[str, list[str]]  # substance key -> importer keys notified for it
    _closest: dict[GroupKey, str] = field(default_factory=dict)

    @classmethod
    def build(cls, notifications: Iterable[NotifiedShipment]) -> NotificationIndex:
        by_group: dict[GroupKey, list[NotifiedShipment]] = defaultdict(list)
        for n in notifications:
            if n.substance is None or n.status == "superseded":
                continue
            by_group[(n.substance.key, importer_key(n.importer))].append(n)
        for items in by_group.values():
            items.sort(key=lambda n: (n.shipment_date, n.id))
        importers: dict[str, list[str]] = defaultdict(list)
        for skey, ikey in by_group:
            importers[skey].append(ikey)
        return cls(dict(by_group), dict(importers))

    def group_of(self, d: Declaration, score: float) -> GroupKey | None:
        """The group a declaration is matched in: its substance and the notified importer its
        importer is (same key, else the closest key from `score`); None when the substance
        was never notified."""
        if d.substance is None or d.substance.key not in self.importers_of:
            return None
        return (d.substance.key, self._importer(d.substance.key, importer_key(d.importer),
                                                score))

    def _importer(self, skey: str, ikey: str, score: float) -> str:
        if (skey, ikey) in self.by_group or not ikey:
            return ikey
        found = self._closest.get((skey, ikey))
        if found is None:
            best = process.extractOne(ikey, self.importers_of[skey], scorer=fuzz.ratio,
                                      score_cutoff=score)
            found = self._closest[(skey, ikey)] = str(best[0]) if best is not None else ikey
        return found


def _window_dict(n: NotifiedShipment, days: int) -> dict[str, str]:
    start, end = n.window(days)
    return {"from": start.isoformat(), "to": end.isoformat()}


def _notification_evidence(n: NotifiedShipment, days: int) -> dict[str, Any]:
    return {"notification_id": n.id, "status": n.status,
            "exporting_authority": n.exporting_authority, "exporter": n.exporter,
            "importer": n.importer, "notified_quantity": n.quantity, "notified_unit": n.unit,
            "planned_shipment_date": n.shipment_date.isoformat(),
            "window": _window_dict(n, days)}


@dataclass(slots=True)
class Match:
    """What the group matching found for one declaration."""

    row: int
    notification: NotifiedShipment | None
    flags: list[ReconcileFlag]
    notes: list[str]


def match_group(declarations: Sequence[Declaration], notifications: Sequence[NotifiedShipment],
                options: Options) -> list[Match]:
    """Match the declarations of one substance and importer to its notifications, in order
    of arrival: each to a notification whose window holds its arrival (one with room for it
    first, else the one with most room left), counting the quantities against it."""
    days = options.window_days
    used: dict[str, float] = defaultdict(float)
    windows = [(n, *n.window(days)) for n in notifications]
    out: list[Match] = []
    for d in sorted(declarations, key=lambda d: (d.arrival, d.row)):
        inside = [n for n, start, end in windows if start <= d.arrival <= end]
        usable = [n for n in inside if n.status != "objection"]
        a = d.amount
        if not usable:
            out.append(Match(d.row, None, [_without(d, notifications, inside, days)], []))
            continue
        chosen = _choose(usable, used, a)
        notes: list[str] = []
        flags: list[ReconcileFlag] = []
        notified = chosen.amount
        if a is None or notified is None or a.base != notified.base:
            notes.append(f"quantity {_number(d.quantity or 0)} {d.unit or '(no unit)'} cannot be "
                         f"counted against the notified {_number(chosen.quantity)} {chosen.unit}")
        else:
            before = used[chosen.id]
            used[chosen.id] = total = before + a.value
            if total > notified.value * (1 + _EPSILON):
                over = total - notified.value
                flags.append(_flag(
                    "QUANTITY_ABOVE_NOTIFIED",
                    f"imports against notification {chosen.id} add up to {_number(total)} "
                    f"{a.base}, {_number(over)} {a.base} ({over / notified.value:.0%}) above the "
                    f"notified {_number(chosen.quantity)} {chosen.unit}",
                    **_notification_evidence(chosen, days), cumulative=total,
                    base_unit=a.base, notified=notified.value, above_by=over,
                    this_declaration=a.value))
        out.append(Match(d.row, chosen, flags, notes))
    return out


def _choose(usable: list[NotifiedShipment], used: Mapping[str, float], a: Amount | None
            ) -> NotifiedShipment:
    def room(n: NotifiedShipment) -> float:
        notified = n.amount
        if notified is None or a is None or notified.base != a.base:
            return 0.0
        return notified.value - used.get(n.id, 0.0)

    if a is not None:
        for n in usable:
            if room(n) >= a.value * (1 - _EPSILON):
                return n
    return max(usable, key=room)  # first of the best on ties: the earliest


def _without(d: Declaration, notifications: Sequence[NotifiedShipment],
             inside: Sequence[NotifiedShipment], days: int) -> ReconcileFlag:
    name = d.substance.name if d.substance else d.description
    if inside:
        objected = inside[0]
        return _flag("IMPORT_WITHOUT_NOTIFICATION",
                     f"{name} imported by {d.importer} on {d.arrival.isoformat()}: the only "
                     f"notification in its window, {objected.id}, was objected to",
                     **_notification_evidence(objected, days), reason="objection")
    nearest = min(notifications, key=lambda n: abs((n.shipment_date - d.arrival).days),
                  default=None)
    if nearest is None:
        return _flag("IMPORT_WITHOUT_NOTIFICATION",
                     f"{name} imported by {d.importer} on {d.arrival.isoformat()}: no "
                     "notification of this substance to this importer",
                     reason="no_notification", substance=d.substance.to_dict()
                     if d.substance else None, importer=d.importer)
    start, end = nearest.window(days)
    return _flag("IMPORT_WITHOUT_NOTIFICATION",
                 f"{name} imported by {d.importer} on {d.arrival.isoformat()}: no notification "
                 f"in its window; the nearest, {nearest.id}, covers arrivals from "
                 f"{start.isoformat()} to {end.isoformat()}",
                 **_notification_evidence(nearest, days), reason="outside_window")


_UNSEEN: Any = object()


def group_declarations(declarations: Iterable[Declaration], index: NotificationIndex,
                       options: Options
                       ) -> tuple[dict[GroupKey, list[Declaration]], list[Declaration]]:
    """Declarations by the notification group they are matched in, and the controlled ones
    whose substance was never notified to anyone here (no group)."""
    groups: dict[GroupKey, list[Declaration]] = defaultdict(list)
    alone: list[Declaration] = []
    resolved: dict[tuple[str, str], GroupKey | None] = {}
    for d in declarations:
        if d.substance is None:
            continue
        k = (d.substance.key, d.importer)
        g = resolved.get(k, _UNSEEN)
        if g is _UNSEEN:
            g = resolved[k] = index.group_of(d, options.importer_score)
        if g is None:
            if d.substance.controlled:
                alone.append(d)
        else:
            groups[g].append(d)
    return dict(groups), alone


def match_groups(groups: Mapping[GroupKey, Sequence[Declaration]],
                 index: Mapping[GroupKey, Sequence[NotifiedShipment]], options: Options
                 ) -> list[Match]:
    """The matches of many groups (one call per Dask task)."""
    out: list[Match] = []
    for g, decls in groups.items():
        notifications = index.get(g, ())
        if not notifications:
            # Notified for this substance, not to this importer: only a controlled one is
            # an import without notification.
            out.extend(Match(d.row, None, [_without(d, (), (), options.window_days)], [])
                       for d in decls if d.substance is not None and d.substance.controlled)
            continue
        out.extend(match_group(decls, notifications, options))
    return out


# -- the checks across groups --------------------------------------------------------------------
@dataclass(slots=True)
class PermitIndex:
    by_ref: dict[str, PermitView]

    @classmethod
    def build(cls, permits: Iterable[PermitView]) -> PermitIndex:
        refs: dict[str, PermitView] = {}
        for p in permits:
            refs[p.id.lower()] = p
            refs.setdefault(p.permit_number.strip().lower(), p)
        return cls(refs)

    def find(self, ref: str) -> PermitView | None:
        return self.by_ref.get(ref.strip().lower()) if ref.strip() else None


def _permit_evidence(p: PermitView) -> dict[str, Any]:
    return {"permit_id": p.id, "permit_number": p.permit_number, "issuer": p.issuer,
            "permitted_quantity": p.quantity, "permitted_unit": p.unit,
            "valid_from": p.valid_from.isoformat(), "valid_until": p.valid_until.isoformat(),
            "revoked_on": p.revoked_on.isoformat() if p.revoked_on else None}


def permit_flags(d: Declaration, p: PermitView, used_before: float, cited_by: str
                 ) -> tuple[list[ReconcileFlag], float]:
    """The permit flags of one declaration and the permit's use after it."""
    flags: list[ReconcileFlag] = []
    label = f"permit {p.permit_number} ({p.issuer})"
    ev = {**_permit_evidence(p), "cited_by": cited_by}
    if p.revoked_on is not None and p.revoked_on <= d.arrival:
        why = f" ({p.revocation_reason.rstrip('.')})" if p.revocation_reason else ""
        flags.append(_flag("PERMIT_REVOKED", f"{label} was revoked on {p.revoked_on.isoformat()}"
                           f"{why}; the goods arrived on {d.arrival.isoformat()}", **ev,
                           reason=p.revocation_reason))
    if d.arrival < p.valid_from or d.arrival > p.valid_until:
        when = "before it became valid" if d.arrival < p.valid_from else "after it expired"
        flags.append(_flag("PERMIT_EXPIRED", f"the goods arrived on {d.arrival.isoformat()}, "
                           f"{when}: {label} is valid from {p.valid_from.isoformat()} to "
                           f"{p.valid_until.isoformat()}", **ev))
    a, permitted = d.amount, p.amount
    used = used_before
    if a is not None and permitted is not None and a.base == permitted.base:
        used = used_before + a.value
        if used > permitted.value * (1 + _EPSILON):
            over = used - permitted.value
            flags.append(_flag("PERMIT_EXCEEDED", f"imports under {label} add up to "
                               f"{_number(used)} {a.base}, {_number(over)} {a.base} above the "
                               f"permitted {_number(p.quantity)} {p.unit}", **ev,
                               cumulative=used, base_unit=a.base, permitted=permitted.value,
                               above_by=over, this_declaration=a.value))
    return flags, used


RequirementKey = tuple[str, str, int]  # (country, substance key, year)


def requirement_index(requirements: Iterable[Requirement]) -> dict[RequirementKey, Requirement]:
    return {(r.country, r.substance.key, r.year): r for r in requirements}


@dataclass(frozen=True, slots=True)
class Inputs:
    """Everything a reconciliation reads besides the declarations."""

    notifications: tuple[NotifiedShipment, ...] = ()
    permits: tuple[PermitView, ...] = ()
    requirements: tuple[Requirement, ...] = ()


def settle(declarations: Sequence[Declaration], matches: Iterable[Match], inputs: Inputs,
           options: Options) -> tuple[list[ReconcileResult], list[ReconcileResult]]:
    """Declaration results (in the order given) and the notifications never used.

    Adds to the group matches the checks across groups, counted in order of arrival: the
    permits each import relies on (cited in the declaration or by its notification) and the
    country's annual requirement."""
    by_row = {m.row: m for m in matches}
    permits = PermitIndex.build(inputs.permits)
    requirements = requirement_index(inputs.requirements)
    permit_use: dict[str, float] = defaultdict(float)
    yearly: dict[RequirementKey, float] = defaultdict(float)
    extra: dict[int, list[ReconcileFlag]] = defaultdict(list)
    permit_of: dict[int, str] = {}
    # Only imports that rely on a permit or count against a requirement take part.
    required = {k[1] for k in requirements}
    counted = [d for d in declarations if d.permit or (
        d.substance is not None and d.substance.key in required and d.amount is not None) or (
        (m := by_row.get(d.row)) is not None and m.notification is not None
        and m.notification.permit_id)]
    for d in sorted(counted, key=lambda d: (d.arrival, d.row)):
        m = by_row.get(d.row)
        cited: list[tuple[PermitView, str]] = []
        if d.permit:
            p = permits.find(d.permit)
            if p is None:
                extra[d.row].append(_flag("PERMIT_UNKNOWN", f"permit {d.permit!r} is not one "
                                          "the authority issued or can read", permit=d.permit))
            else:
                cited.append((p, "declaration"))
        if m is not None and m.notification is not None and m.notification.permit_id:
            p = permits.find(m.notification.permit_id)
            if p is not None and all(p.id != c.id for c, _ in cited):
                cited.append((p, f"notification {m.notification.id}"))
        for p, by in cited:
            flags, permit_use[p.id] = permit_flags(d, p, permit_use[p.id], by)
            extra[d.row].extend(flags)
            permit_of.setdefault(d.row, p.id)
        if d.substance is not None and requirements:
            key = (d.country, d.substance.key, d.arrival.year)
            r = requirements.get(key)
            a, allowed = d.amount, (r.amount if r else None)
            if r is not None and a is not None and allowed is not None and a.base == allowed.base:
                yearly[key] += a.value
                total = yearly[key]
                if total > allowed.value * (1 + _EPSILON):
                    over = total - allowed.value
                    extra[d.row].append(_flag(
                        "ABOVE_ANNUAL_REQUIREMENT",
                        f"imports of {d.substance.name} into {d.country} in {d.arrival.year} add "
                        f"up to {_number(total)} {a.base}, {_number(over)} {a.base} above the "
                        f"annual requirement of {_number(r.quantity)} {r.unit}",
                        country=d.country, year=d.arrival.year, substance=d.substance.name,
                        requirement=r.quantity, requirement_unit=r.unit, cumulative=total,
                        base_unit=a.base, above_by=over, source=r.source))
    results: list[ReconcileResult] = []
    append = results.append
    used_notifications: set[str] = set()
    no_extra: list[ReconcileFlag] = []
    for d in declarations:
        m = by_row.get(d.row)
        more = extra.get(d.row, no_extra)
        if m is None:
            append(ReconcileResult("declaration", d.declaration_id, d.row, tuple(more),
                                   d.substance, d.importer, d.country, d.arrival, d.quantity,
                                   d.unit, None, permit_of.get(d.row), d.description))
            continue
        n = m.notification
        if n is not None:
            used_notifications.add(n.id)
        append(ReconcileResult(
            "declaration", d.declaration_id, d.row,
            (*m.flags, *more) if more or m.flags else (), d.substance, d.importer, d.country,
            d.arrival, d.quantity, d.unit, n.id if n is not None else None,
            permit_of.get(d.row) if permit_of else None, d.description,
            tuple(m.notes) if m.notes else ()))
    return results, never_arrived(inputs.notifications, used_notifications, options)


def never_arrived(notifications: Iterable[NotifiedShipment], used: set[str], options: Options
                  ) -> list[ReconcileResult]:
    """One result per notification answered with no objection whose window closed before
    `options.as_of` with no import counted against it."""
    out: list[ReconcileResult] = []
    days = options.window_days
    for n in sorted(notifications, key=lambda n: (n.shipment_date, n.id)):
        if n.status != "no_objection" or n.id in used:
            continue
        start, end = n.window(days)
        if end >= options.as_of:
            continue
        name = n.substance.name if n.substance else "the substance"
        flag = _flag("NOTIFICATION_NEVER_ARRIVED",
                     f"{_number(n.quantity)} {n.unit} of {name} from {n.exporter} "
                     f"({n.exporting_authority}) to {n.importer}, planned for "
                     f"{n.shipment_date.isoformat()} and not objected to: no import arrived "
                     f"from {start.isoformat()} to {end.isoformat()}",
                     **_notification_evidence(n, days))
        out.append(ReconcileResult("notification", n.id, None, (flag,), n.substance, n.importer,
                                   "", None, n.quantity, n.unit, n.id, n.permit_id or None))
    return out


def reconcile(declarations: Sequence[Declaration], inputs: Inputs, options: Options
              ) -> tuple[list[ReconcileResult], list[ReconcileResult]]:
    """Every declaration's result, in the order given, and the notifications never used (the
    local engine; `match_groups` over parts of the groups gives the same on Dask)."""
    index = NotificationIndex.build(inputs.notifications)
    groups, alone = group_declarations(declarations, index, options)
    matches = match_groups(groups, index.by_group, options)
    matches.extend(Match(d.row, None, [_without(d, (), (), options.window_days)], [])
                   for d in alone)
    return settle(declarations, matches, inputs, options)


def _part_of(group: GroupKey, parts: int) -> int:
    # A digest, not hash(): the same part in every process, so runs are repeatable.
    return zlib.crc32(f"{group[0]}\x1f{group[1]}".encode()) % parts


def _match_packed(payload: bytes) -> bytes:
    """`match_groups` on a part sent as pickled bytes. Dask walks the arguments of a task
    looking for collections and rebuilds every dataclass it meets as a task of its own: a
    million declarations would become a million tasks. Bytes it leaves alone."""
    groups, index, options = pickle.loads(payload)
    return pickle.dumps(match_groups(groups, index, options), protocol=pickle.HIGHEST_PROTOCOL)


def reconcile_on_dask(declarations: Sequence[Declaration], inputs: Inputs, options: Options, *,
                      workers: int = 2, processes: bool = True, scheduler: str | None = None,
                      parts: int | None = None
                      ) -> tuple[list[ReconcileResult], list[ReconcileResult]]:
    """`reconcile` with the group matching spread over a Dask cluster (a local one of
    `workers`, or the one at `scheduler`): the groups are independent, so each part of them
    goes to a worker with only its own notifications. Same results as `reconcile`."""
    from distributed import Client, LocalCluster

    index = NotificationIndex.build(inputs.notifications)
    groups, alone = group_declarations(declarations, index, options)
    n = parts or max(1, workers * 4)
    split: list[dict[GroupKey, list[Declaration]]] = [{} for _ in range(n)]
    for g, decls in groups.items():
        split[_part_of(g, n)][g] = decls
    cluster = None
    if scheduler:
        client = Client(scheduler, timeout="30s")
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        futures = [client.submit(_match_packed, pickle.dumps(
            (part, {g: index.by_group[g] for g in part if g in index.by_group}, options),
            protocol=pickle.HIGHEST_PROTOCOL), pure=False) for part in split if part]
        matches = [m for found in client.gather(futures) for m in pickle.loads(found)]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    matches.extend(Match(d.row, None, [_without(d, (), (), options.window_days)], [])
                   for d in alone)
    return settle(declarations, matches, inputs, options)
