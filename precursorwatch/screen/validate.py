"""Validating a manifest row into a typed `Shipment`, collecting every problem of the row."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from contextlib import suppress
from functools import lru_cache
from operator import itemgetter
from sys import intern
from typing import Any

from precursorwatch.screen.countries import country_code
from precursorwatch.screen.model import CANONICAL_COLUMNS, MODES, Problem, RawRow, Shipment

_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%Y%m%d", "%d-%b-%Y", "%d %b %Y")
_NUMBER = re.compile(r"^\s*([-+]?\d[\d,]*(?:\.\d+)?|[-+]?\.\d+)\s*([A-Za-z/]*)\s*$")
_HS = re.compile(r"^\d{4,10}$")
# Units that are masses, in kg; volumes and counts give no mass.
_KG_PER_UNIT: dict[str, float] = {
    "kg": 1.0, "kgs": 1.0, "kilogram": 1.0, "kilograms": 1.0, "g": 0.001, "gr": 0.001,
    "gram": 0.001, "grams": 0.001, "mg": 1e-6, "t": 1000.0, "mt": 1000.0, "ton": 1000.0,
    "tons": 1000.0, "tonne": 1000.0, "tonnes": 1000.0, "lb": 0.45359237, "lbs": 0.45359237,
}
_MODE_WORDS: dict[str, str] = {
    "sea": "sea", "ocean": "sea", "vessel": "sea", "fcl": "sea", "lcl": "sea",
    "air": "air", "air freight": "air", "airfreight": "air",
    "courier": "courier", "express": "courier", "express courier": "courier",
    "dhl": "courier", "fedex": "courier", "ups": "courier", "ems": "courier", "tnt": "courier",
    "post": "post", "postal": "post", "mail": "post", "epacket": "post",
    "road": "road", "truck": "road", "rail": "rail", "train": "rail",
}


@lru_cache(maxsize=100_000)
def parse_date(text: str) -> dt.date:
    """A date in ISO or a common unambiguous layout; ValueError names the layouts accepted."""
    t = text.strip()
    if len(t) == 10 and t[4] == "-":
        with suppress(ValueError):
            return dt.date.fromisoformat(t)
    if "T" in t:
        t = t.split("T", 1)[0]
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(t, fmt).date()
        except ValueError:
            continue
    raise ValueError("not a date; use YYYY-MM-DD (also YYYY/MM/DD, DD.MM.YYYY)")


@lru_cache(maxsize=100_000)
def parse_number(text: str) -> tuple[float, str]:
    """A number with an optional unit glued on ("25", "1,000.5", "25kg"); ValueError if not."""
    m = _NUMBER.match(text)
    if m is None:
        raise ValueError("not a number")
    return float(m.group(1).replace(",", "")), m.group(2)


@lru_cache(maxsize=10_000)
def normalise_mode(text: str) -> str:
    """The canonical transport mode for what a manifest writes ("DHL Express" -> courier)."""
    t = " ".join(text.lower().replace("_", " ").split())
    if t in MODES:
        return t
    if t in _MODE_WORDS:
        return _MODE_WORDS[t]
    for word in t.replace("/", " ").split():
        if word in _MODE_WORDS:
            return _MODE_WORDS[word]
    raise ValueError("unknown transport mode; use " + "|".join(sorted(MODES)))


@lru_cache(maxsize=10_000)
def _hs_digits(text: str) -> str:
    digits = re.sub(r"[\s.\-]", "", text)
    return digits if _HS.match(digits) else ""


@lru_cache(maxsize=10_000)
def _transit(text: str) -> tuple[str, ...]:
    return tuple(country_code(c) for c in re.split(r"[;,/|>]+", text) if c.strip())


@lru_cache(maxsize=100_000)
def _description(text: str) -> str:
    # The same goods texts recur on thousands of lines: interned, each is stored once however
    # many shipments and cache keys hold it.
    return intern(" ".join(text.split()))


@lru_cache(maxsize=100_000)
def _quantity(q: str, unit_text: str) -> tuple[float | None, str, float | None, tuple[str, ...]]:
    """(quantity, unit, quantity in kg or None, problems) of the quantity and unit cells."""
    problems: list[str] = []
    quantity: float | None = None
    unit = unit_text.strip().lower()
    if q:
        try:
            quantity, glued = parse_number(q)
            if quantity < 0:
                problems.append("negative")
            unit = unit or glued.lower()
        except ValueError:
            problems.append("not a number")
    quantity_kg = None
    if quantity is not None and unit.split("/")[0] in _KG_PER_UNIT:
        quantity_kg = quantity * _KG_PER_UNIT[unit.split("/")[0]]
    return quantity, intern(unit), quantity_kg, tuple(problems)


def _plain_number(text: str) -> float | None:
    """The value of plain digits, with or without decimals ("1200", "12.5"), else None: what
    `parse_number` gives for them, without its pattern (declared values are nearly all
    different, so no cache helps)."""
    if text.isascii():
        whole, dot, decimals = text.partition(".")
        if whole.isdigit() and (not dot or decimals.isdigit()):
            return float(text)
    return None


_CURRENCIES: dict[str, str] = {}


def _value(v: str, currency_text: str) -> tuple[float | None, str, tuple[str, ...]]:
    """(declared value, currency, problems) of the value and currency cells."""
    if (value := _plain_number(v)) is not None:
        currency = _CURRENCIES.get(currency_text)
        if currency is None:
            if len(_CURRENCIES) > 10_000:
                _CURRENCIES.clear()
            currency = _CURRENCIES[currency_text] = intern(currency_text.strip().upper())
        return value, currency, ()
    problems: list[str] = []
    value = None
    currency = currency_text.strip().upper()
    if v:
        try:
            value, glued_ccy = parse_number(v.replace("$", ""))
            currency = currency or glued_ccy.upper() or ("USD" if "$" in v else "")
            if value < 0:
                problems.append("negative")
        except ValueError:
            problems.append("not a number")
    return value, intern(currency), tuple(problems)


def _field_problem(row: int, raw: RawRow, column: str, message: str) -> Problem:
    return Problem(row, column, raw.get(column, "") or "", message)


def parse_row(row: int, raw: RawRow) -> Shipment | list[Problem]:
    """A typed Shipment, or every problem found in the row (a BAD_ROW result follows)."""
    problems: list[Problem] = []
    get = raw.get

    shipment_id = get("shipment_id", "")
    description = _description(get("description", ""))
    if not shipment_id:
        problems.append(_field_problem(row, raw, "shipment_id",
                                       "empty; every shipment needs an id"))
    if not description:
        problems.append(_field_problem(row, raw, "description",
                                       "empty; the goods description is required"))

    date: dt.date | None = None
    if d := get("date", ""):
        try:
            date = parse_date(d)
        except ValueError as exc:
            problems.append(_field_problem(row, raw, "date", str(exc)))

    hs = ""
    if h := get("hs_code", ""):
        hs = _hs_digits(h)
        if not hs:
            problems.append(_field_problem(row, raw, "hs_code",
                                           "not an HS code (4 to 10 digits, dots allowed)"))

    quantity, unit, quantity_kg, quantity_problems = _quantity(get("quantity", ""),
                                                               get("unit", ""))
    if quantity_problems:
        problems.extend(_field_problem(row, raw, "quantity", m) for m in quantity_problems)

    mode = ""
    if m := get("mode", ""):
        try:
            mode = normalise_mode(m)
        except ValueError as exc:
            problems.append(_field_problem(row, raw, "mode", str(exc)))

    value, currency, value_problems = _value(get("declared_value", ""), get("currency", ""))
    if value_problems:
        problems.extend(_field_problem(row, raw, "declared_value", m) for m in value_problems)

    if problems:
        return problems
    # Positional: a dataclass built from 23 keywords costs noticeably more at a million rows.
    # Names that results keep are interned: a million results hold a few thousand strings.
    return Shipment(
        row, shipment_id, description, date, hs, get("cas", "").strip(), quantity, unit,
        quantity_kg, intern(get("shipper_name", "")), get("shipper_address", ""),
        country_code(get("shipper_country", "")), intern(get("consignee_name", "")),
        get("consignee_address", ""), country_code(get("consignee_country", "")),
        get("notify_party", ""), mode, get("origin_port", ""), get("destination_port", ""),
        _transit(get("transit_countries", "")), value, currency,
        get("payment_method", "").strip(),
    )


class _Bad:
    """A cell that does not validate (`parse_row` says why)."""


_BAD = _Bad()


@lru_cache(maxsize=100_000)
def _date_cell(text: str) -> dt.date | _Bad | None:
    if not text:
        return None
    try:
        return parse_date(text)
    except ValueError:
        return _BAD


@lru_cache(maxsize=10_000)
def _hs_cell(text: str) -> str | _Bad:
    return (_hs_digits(text) or _BAD) if text else ""


@lru_cache(maxsize=10_000)
def _mode_cell(text: str) -> str | _Bad:
    if not text:
        return ""
    try:
        return normalise_mode(text)
    except ValueError:
        return _BAD


def _positions(values: Sequence[object], bad: object) -> set[int]:
    """Where `bad` is in `values` (looked for only when it is there at all)."""
    return {i for i, v in enumerate(values) if v is bad or v == bad} if bad in values else set()


def parse_many(rows: Sequence[tuple[int, tuple[str, ...]]]) -> list[Shipment | list[Problem]]:
    """`parse_row` for many rows at once, each given as its cells (texts in CANONICAL_COLUMNS
    order): the same Shipments and problems, worked out a column at a time (each distinct
    value once, no dict a row); a row with any problem is read again by `parse_row`."""
    if not rows:
        return []
    numbers = list(map(itemgetter(0), rows))
    (ids, dates, descriptions, hs_codes, cas, quantities, units, shipper_names,
     shipper_addresses, shipper_countries, consignee_names, consignee_addresses,
     consignee_countries, notify_parties, modes, origin_ports, destination_ports, transits,
     values, currencies, payments) = zip(*map(itemgetter(1), rows), strict=True)
    description: list[Any] = list(map(_description, descriptions))
    date: list[Any] = list(map(_date_cell, dates))
    hs: list[Any] = list(map(_hs_cell, hs_codes))
    quantity = list(map(_quantity, quantities, units))
    mode: list[Any] = list(map(_mode_cell, modes))
    value = list(map(_value, values, currencies))
    bad = (_positions(ids, "") | _positions(description, "") | _positions(date, _BAD)
           | _positions(hs, _BAD) | _positions(mode, _BAD))
    quantity_problems = list(map(itemgetter(3), quantity))
    value_problems = list(map(itemgetter(2), value))
    if any(quantity_problems) or any(value_problems):
        bad.update(i for i, (q, v) in enumerate(zip(quantity_problems, value_problems,
                                                    strict=True)) if q or v)
    q, unit, kg, _ = zip(*quantity, strict=True)
    v, currency, _ = zip(*value, strict=True)
    out: list[Shipment | list[Problem]] = list(map(
        Shipment, numbers, ids, description, date, hs, map(str.strip, cas), q, unit, kg,
        map(intern, shipper_names), shipper_addresses, map(country_code, shipper_countries),
        map(intern, consignee_names), consignee_addresses,
        map(country_code, consignee_countries), notify_parties, mode, origin_ports,
        destination_ports, map(_transit, transits), v, currency, map(str.strip, payments)))
    for i in bad:
        out[i] = parse_row(numbers[i], dict(zip(CANONICAL_COLUMNS, rows[i][1], strict=True)))
    return out
