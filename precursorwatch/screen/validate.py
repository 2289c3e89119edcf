"""Validating a manifest row into a typed `Shipment`, collecting every problem of the row."""

from __future__ import annotations

import datetime as dt
import re
from contextlib import suppress
from functools import lru_cache
from sys import intern

from precursorwatch.screen.countries import country_code
from precursorwatch.screen.model import MODES, Problem, RawRow, Shipment

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


def parse_row(row: int, raw: RawRow) -> Shipment | list[Problem]:
    """A typed Shipment, or every problem found in the row (a BAD_ROW result follows)."""
    problems: list[Problem] = []
    get = raw.get

    def bad(column: str, message: str) -> None:
        problems.append(Problem(row, column, get(column, "") or "", message))

    shipment_id = get("shipment_id", "")
    description = " ".join(get("description", "").split())
    if not shipment_id:
        bad("shipment_id", "empty; every shipment needs an id")
    if not description:
        bad("description", "empty; the goods description is required")

    date: dt.date | None = None
    if d := get("date", ""):
        try:
            date = parse_date(d)
        except ValueError as exc:
            bad("date", str(exc))

    hs = ""
    if h := get("hs_code", ""):
        hs = _hs_digits(h)
        if not hs:
            bad("hs_code", "not an HS code (4 to 10 digits, dots allowed)")

    quantity: float | None = None
    unit = get("unit", "").strip().lower()
    if q := get("quantity", ""):
        try:
            quantity, glued = parse_number(q)
            if quantity < 0:
                bad("quantity", "negative")
            unit = unit or glued.lower()
        except ValueError:
            bad("quantity", "not a number")
    quantity_kg = None
    if quantity is not None and unit.split("/")[0] in _KG_PER_UNIT:
        quantity_kg = quantity * _KG_PER_UNIT[unit.split("/")[0]]

    mode = ""
    if m := get("mode", ""):
        try:
            mode = normalise_mode(m)
        except ValueError as exc:
            bad("mode", str(exc))

    value: float | None = None
    currency = get("currency", "").strip().upper()
    if v := get("declared_value", ""):
        try:
            value, glued_ccy = parse_number(v.replace("$", ""))
            currency = currency or glued_ccy.upper() or ("USD" if "$" in v else "")
            if value < 0:
                bad("declared_value", "negative")
        except ValueError:
            bad("declared_value", "not a number")

    if problems:
        return problems
    transit = _transit(get("transit_countries", ""))
    # The same goods texts, parties and ports recur on thousands of lines: interned, they are
    # stored once however many shipments and cache keys hold them.
    return Shipment(
        row=row, shipment_id=shipment_id, description=intern(description), date=date,
        hs_code=hs, cas=intern(get("cas", "").strip()), quantity=quantity, unit=unit,
        quantity_kg=quantity_kg, shipper_name=intern(get("shipper_name", "")),
        shipper_address=intern(get("shipper_address", "")),
        shipper_country=country_code(get("shipper_country", "")),
        consignee_name=intern(get("consignee_name", "")),
        consignee_address=intern(get("consignee_address", "")),
        consignee_country=country_code(get("consignee_country", "")),
        notify_party=intern(get("notify_party", "")), mode=mode,
        origin_port=intern(get("origin_port", "")),
        destination_port=intern(get("destination_port", "")),
        transit_countries=transit, declared_value=value, currency=intern(currency),
        payment_method=intern(get("payment_method", "").strip()),
    )
