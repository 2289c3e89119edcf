"""Reading HTML forms into the exchange's request models, and its refusals into messages
placed next to the field they concern (in the reader's language)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request

from precursorwatch.exchange.errors import ExchangeError
from precursorwatch.web.i18n import N_

# A field's message: a catalog msgid and its values.
FieldError = tuple[str, dict[str, Any]]
FormErrors = dict[str, FieldError]

REQUIRED = N_("This field is required.")
TOO_LONG = N_("Too long: at most %(max)s characters.")
NOT_NUMBER = N_("Give a number, e.g. 25 or 0.5.")
QUANTITY_RANGE = N_("Give a quantity of at least 0.001 and at most 100,000 t (in the unit chosen).")
COUNTRY = N_("Give a two-letter ISO country code, e.g. MX.")
AUTHORITY = N_("Choose an authority registered on the exchange.")
CHOICE = N_("Choose one of the options.")
BAD_DATE = N_("Give a date as YYYY-MM-DD.")
BAD_TEXT = N_("Remove control, invisible or direction-changing characters from this text.")
UNIDENTIFIED = N_("The substance could not be identified. Give its CAS number, name, SMILES or "
                  "InChI.")
SHIPMENT_DATE = N_("The planned shipment date must be from a year before to two years after "
                   "today.")
ARRIVAL_DATE = N_("The planned arrival date must be on or after the shipment date and at most "
                  "a year after it.")
INCIDENT_DATE = N_("The date must be from 1990 to today.")
NOTIFY_SELF = N_("An authority cannot notify itself.")
IMPORTER_IN_TRANSIT = N_("The importing authority cannot also be a transit authority.")
SELF_IN_TRANSIT = N_("Your own authority cannot be a transit authority.")
TWICE = N_("An authority is named twice.")
QUANTITY_UNIT = N_("Give the quantity and its unit together, or neither.")
OBJECTION_REASON = N_("An objection needs a reason.")
NOT_ACCEPTED = N_("This value is not accepted: %(detail)s")

_LOC = re.compile(r"^([a-z_]+(?:\[\d+\])?(?:\.[a-z_]+)?):")


def _name(loc: tuple[Any, ...]) -> str:
    """`("exporter", "name")` -> `exporter.name`; `("parties", 0, "name")` ->
    `parties.0.name`."""
    return ".".join(str(p) for p in loc)


def _by_type(kind: str, loc: str, ctx: Mapping[str, Any]) -> FieldError | None:
    if kind == "missing":
        return REQUIRED, {}
    if kind in ("string_too_short",) and ctx.get("min_length") == 1:
        return REQUIRED, {}
    if kind == "string_too_long" or kind == "too_long":
        return TOO_LONG, {"max": ctx.get("max_length", "")}
    if loc.endswith("quantity") and kind in ("greater_than_equal", "less_than_equal",
                                             "finite_number"):
        return QUANTITY_RANGE, {}
    if kind in ("float_type", "float_parsing", "int_type"):
        return NOT_NUMBER, {}
    if kind == "string_pattern_mismatch":
        return (AUTHORITY, {}) if "authorit" in loc else (COUNTRY, {})
    if kind in ("literal_error", "enum"):
        return CHOICE, {}
    return None


def _by_text(message: str) -> tuple[str | None, FieldError]:
    """A rule between fields or a service refusal: which field, and what to say."""
    text = message.removeprefix("Value error, ")
    if "could not be identified" in text:
        return "substance", (UNIDENTIFIED, {})
    if text.startswith("planned_shipment_date:"):
        return "planned_shipment_date", (SHIPMENT_DATE, {})
    if "planned_arrival_date" in text:
        return "planned_arrival_date", (ARRIVAL_DATE, {})
    if text.startswith("incident_date:"):
        return "incident_date", (INCIDENT_DATE, {})
    if "cannot notify itself" in text:
        return "importing_authority", (NOTIFY_SELF, {})
    if "must not also be a transit authority" in text:
        return "transit_authorities", (IMPORTER_IN_TRANSIT, {})
    if "exporting authority cannot be in transit" in text:
        return "transit_authorities", (SELF_IN_TRANSIT, {})
    if "names an authority twice" in text:
        return "transit_authorities", (TWICE, {})
    if "quantity and unit go together" in text:
        return "quantity", (QUANTITY_UNIT, {})
    if "more than any shipment carries" in text:
        return "quantity", (QUANTITY_RANGE, {})
    if "an objection needs a reason" in text:
        return "reason", (OBJECTION_REASON, {})
    if "not a registered authority" in text:
        found = _LOC.match(text)
        field = found.group(1).split("[")[0] if found else None
        return field, (AUTHORITY, {})
    found = _LOC.match(text)
    field = found.group(1).replace("[", ".").replace("]", "") if found else None
    return field, (NOT_ACCEPTED, {"detail": text})


def validation_errors(exc: ValidationError) -> FormErrors:
    """Pydantic's errors, one message per form field (the first for each)."""
    out: FormErrors = {}
    for err in exc.errors():
        loc = _name(tuple(err.get("loc", ())))
        msg = str(err.get("msg", ""))
        if err.get("type") == "value_error" and "must not contain" in msg:
            found: FieldError | None = (BAD_TEXT, {})
        elif err.get("type") == "value_error" and "YYYY-MM-DD" in msg:
            found = (BAD_DATE, {})
        else:
            found = _by_type(str(err.get("type")), loc, err.get("ctx") or {})
        if found is None or not loc:
            field, found = _by_text(msg)
            loc = field or loc or "form"
        out.setdefault(loc, found)
    return out


def service_errors(exc: ExchangeError) -> FormErrors:
    """A service's refusal (422 and kin) as a message for the field it names."""
    field, found = _by_text(exc.message)
    return {field or "form": found}


def text(form: Mapping[str, Any], name: str) -> str | None:
    """A text field, stripped; None when left empty (optional fields are then left out)."""
    value = form.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def number(form: Mapping[str, Any], name: str, errors: FormErrors) -> float | None:
    """A decimal field (a comma as decimal mark is read too); an error when not a number."""
    value = text(form, name)
    if value is None:
        return None
    try:
        return float(value.replace(" ", "").replace(",", "."))
    except ValueError:
        errors[name] = (NOT_NUMBER, {})
        return None


def party(form: Mapping[str, Any], prefix: str) -> dict[str, Any] | None:
    """A party's name, address and country; None when all three are empty."""
    found = {k: text(form, f"{prefix}.{k}") for k in ("name", "address", "country")}
    if not any(found.values()):
        return None
    if found["country"]:
        found["country"] = found["country"].upper()
    return {k: v if v is not None else "" for k, v in found.items()}


def codes(value: str | None) -> list[str]:
    """A list of codes typed with commas or spaces: `US, ca` -> `["US", "CA"]`."""
    return [c.upper() for c in re.split(r"[\s,;]+", value or "") if c]


async def read_form(request: Request, *lists: str) -> dict[str, Any]:
    """A posted form as a plain dict (the first value of each field, the CSRF token left out),
    with every value of each field named in `lists` (checkboxes, multiple selects)."""
    raw = await request.form()
    form: dict[str, Any] = {k: raw.get(k) for k in raw if k != "csrf_token"}
    for name in lists:
        form[name] = [str(v) for v in raw.getlist(name)]
    return form
