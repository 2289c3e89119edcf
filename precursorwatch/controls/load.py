"""Load the cited control-list files into an immutable `ControlSet`.

Files, under `precursorwatch/controls/data/` (or any folder passed as `data_dir`):
- `substances.yaml` and/or `substances/*.yaml`: one record per chemical identity;
- `listings.yaml` and/or `listings/*.yaml` (one file per jurisdiction): one record per
  (substance, jurisdiction, list) with dates and citation;
- `rules/*.yaml`: structure rules (family and class listings written as SMARTS);
- `about.yaml`: the edition of the data and the date it was checked (`load_data_version`).

Validation is strict and happens here, at the file edge: unknown fields, wrong types, bad CAS
check digits, unparsable SMILES or SMARTS, `until` not after `since`, duplicate ids, two
substance records of one structure and references to unknown substances are all reported.
Every problem in a load is collected and raised once as `ControlsDataError`, each naming the
file, the record (position and id) and the field.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from rdkit import Chem

from precursorwatch.chem.cas import CasError, parse_cas
from precursorwatch.chem.structure import StructureError, from_smiles
from precursorwatch.controls.model import (
    ControlSet,
    Listing,
    SaltForm,
    StructureRule,
    Substance,
    Threshold,
    Verification,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
SUBSTANCES_FILE = "substances.yaml"
SUBSTANCES_DIR = "substances"
LISTINGS_FILE = "listings.yaml"
LISTINGS_DIR = "listings"
RULES_DIR = "rules"
ABOUT_FILE = "about.yaml"

_SLUG = r"^[a-z0-9][a-z0-9-]*$"
Text = Annotated[str, Field(min_length=1)]
JurisdictionCode = Literal["UN", "US", "CN", "MX", "EU", "CA"]


@dataclass(frozen=True, slots=True)
class DataProblem:
    """One thing wrong in one record of one file."""

    file: str
    message: str
    record: int | None = None  # position in the file, counting from 1
    record_id: str = ""
    field: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.record is not None:
            where += f": record {self.record}"
            if self.record_id:
                where += f" (id {self.record_id!r})"
        if self.field:
            where += f", field {self.field!r}"
        return f"{where}: {self.message}"


class ControlsDataError(ValueError):
    """The control-list files are invalid; `problems` lists every one found."""

    def __init__(self, problems: Sequence[DataProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# --------------------------------------------------------------------------- file records


class _Record(BaseModel):
    # strict: a date must be a YAML date, a code a string ("2933.37" quoted, not a float)
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _check_smiles(value: str) -> str:
    try:
        from_smiles(value)
    except StructureError as exc:
        raise ValueError(str(exc)) from None
    return value


def _check_smarts(value: str) -> str:
    if Chem.MolFromSmarts(value) is None:
        raise ValueError(f"SMARTS does not compile: {value!r}")
    return value


class SaltFormRecord(_Record):
    cas: str
    name: Text
    smiles: Text
    source: Text

    @field_validator("cas")
    @classmethod
    def _cas_valid(cls, value: str) -> str:
        try:
            return parse_cas(value).text
        except CasError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("smiles")
    @classmethod
    def _smiles_valid(cls, value: str) -> str:
        return _check_smiles(value)

    def to_model(self) -> SaltForm:
        return SaltForm(cas=self.cas, name=self.name, smiles=self.smiles, source=self.source)


class SubstanceRecord(_Record):
    id: Annotated[str, Field(pattern=_SLUG)]
    name: Text
    systematic_name: str = ""
    smiles: Text
    cas: list[str] = []
    abbreviations: list[Text] = []
    synonyms: list[Text] = []
    role: str = ""
    hs_code: Annotated[str, Field(pattern=r"^(\d{4}\.\d{2})?$")] = ""
    sources: Annotated[list[Text], Field(min_length=1)]
    salt_forms: list[SaltFormRecord] = []

    @field_validator("cas")
    @classmethod
    def _cas_valid(cls, values: list[str]) -> list[str]:
        out = []
        for i, text in enumerate(values):
            try:
                out.append(parse_cas(text).text)
            except CasError as exc:
                raise ValueError(f"item {i}: {exc}") from None
        return out

    @field_validator("smiles")
    @classmethod
    def _smiles_valid(cls, value: str) -> str:
        return _check_smiles(value)

    def to_model(self) -> Substance:
        synonyms = list(self.synonyms)
        # The systematic name is how OPSIN-style input finds the record by name.
        if self.systematic_name and self.systematic_name.lower() not in {
            s.lower() for s in (*synonyms, self.name)
        }:
            synonyms.append(self.systematic_name)
        return Substance(
            id=self.id, name=self.name, smiles=self.smiles, cas=tuple(self.cas),
            abbreviations=tuple(self.abbreviations), synonyms=tuple(synonyms), role=self.role,
            hs_code=self.hs_code, sources=tuple(self.sources),
            systematic_name=self.systematic_name,
            salt_forms=tuple(f.to_model() for f in self.salt_forms),
        )


class _Dated(_Record):
    since: dt.date
    until: dt.date | None = None

    @model_validator(mode="after")
    def _until_after_since(self) -> _Dated:
        if self.until is not None and self.until <= self.since:
            raise ValueError(f"'until' {self.until} is not after 'since' {self.since}")
        return self


class ThresholdRecord(_Record):
    quantity: Annotated[float, Field(gt=0)]
    unit: Literal["kg", "g", "L", "mL", "gal", "dosage units"]
    basis: str = ""  # e.g. "cumulative per calendar month", "per transaction"
    reference: str = ""  # the provision that sets it, e.g. "21 CFR 1310.04(f)(1)"

    def to_model(self) -> Threshold:
        return Threshold(quantity=self.quantity, unit=self.unit, basis=self.basis,
                         reference=self.reference)


class _Cited(_Dated):
    """How far a record's citation was checked: `primary` (the instrument itself, or the
    issuing body's own publication), `secondary` (a transcription or report of it), or
    `unverified`; anything short of primary says why in `verification_reason`."""

    verification: Verification = "unverified"
    verification_reason: str = ""
    decided: dt.date | None = None  # decision or publication date, when it differs from since


class ListingRecord(_Cited):
    substance: Annotated[str, Field(pattern=_SLUG)]
    jurisdiction: JurisdictionCode
    list: Text
    category: Text
    legal_reference: Text
    source: Text
    effect: Literal["control", "watch"] = "control"
    # the substance's name as the instrument writes it, by language code (es, zh, fr, en)
    names: dict[Annotated[str, Field(pattern=r"^[a-z]{2}$")], Text] = {}
    threshold: ThresholdRecord | None = None
    note: str = ""

    def to_model(self) -> Listing:
        return Listing(
            substance=self.substance, jurisdiction=self.jurisdiction, list=self.list,
            category=self.category, since=self.since, until=self.until,
            legal_reference=self.legal_reference, source=self.source, effect=self.effect,
            note=self.note, verification=self.verification,
            verification_reason=self.verification_reason, decided=self.decided,
            names=tuple(sorted(self.names.items())),
            threshold=self.threshold.to_model() if self.threshold else None,
        )


class RuleRecord(_Cited):
    id: Annotated[str, Field(pattern=_SLUG)]
    label: Text
    jurisdiction: JurisdictionCode
    list: Text
    category: Text
    smarts: Text
    exclude: builtins.list[Text] = []  # `list` is a field name in this class
    legal_reference: Text
    source: Text
    effect: Literal["control", "watch"] = "control"
    parent: str = ""
    kind: Literal["family", "class"] = "family"
    note: str = ""

    @field_validator("smarts")
    @classmethod
    def _smarts_valid(cls, value: str) -> str:
        return _check_smarts(value)

    @field_validator("exclude")
    @classmethod
    def _excludes_valid(cls, values: builtins.list[str]) -> builtins.list[str]:
        for i, value in enumerate(values):
            if Chem.MolFromSmarts(value) is None:
                raise ValueError(f"item {i}: SMARTS does not compile: {value!r}")
        return values

    def to_model(self) -> StructureRule:
        return StructureRule(
            id=self.id, label=self.label, jurisdiction=self.jurisdiction, list=self.list,
            category=self.category, since=self.since, until=self.until, smarts=self.smarts,
            exclude=tuple(self.exclude), legal_reference=self.legal_reference,
            source=self.source, effect=self.effect, parent=self.parent, kind=self.kind,
            note=self.note, verification=self.verification,
            verification_reason=self.verification_reason, decided=self.decided,
        )


# --------------------------------------------------------------------------- reading

R = TypeVar("R", bound=_Record)


def _read_yaml_list(path: Path, name: str, problems: list[DataProblem]) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(DataProblem(name, f"cannot read the file: {exc.strerror or exc}"))
        return []
    try:
        # libyaml's loader when built in: ten times faster than the pure-Python one.
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(DataProblem(name, f"not valid YAML{at}: {reason}"))
        return []
    if data is None:
        return []
    if not isinstance(data, list):
        found = type(data).__name__
        problems.append(DataProblem(name, f"expected a list of records, found {found}"))
        return []
    return data


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _parse_records(
    model: type[R], raw: list[Any], name: str, problems: list[DataProblem]
) -> list[tuple[int, R]]:
    """Validate each raw record; return (position, record) for the valid ones."""
    good: list[tuple[int, R]] = []
    for pos, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            problems.append(DataProblem(name, f"expected a mapping, found {item!r:.60}", pos))
            continue
        rid = item.get("id") or item.get("substance") or ""
        rid = rid if isinstance(rid, str) else str(rid)
        try:
            good.append((pos, model.model_validate(item)))
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                loc = tuple(err["loc"])
                msg = err["msg"].removeprefix("Value error, ")
                if err["type"] == "extra_forbidden":
                    msg = "unknown field"
                elif err["type"] == "missing":
                    msg = "required field is missing"
                elif "input" in err and err["type"] not in ("value_error",):
                    msg += f" (got {err['input']!r:.60})"
                problems.append(DataProblem(name, msg, pos, rid, _field_path(loc)))
    return good


def _duplicates_across(
    items: Iterable[tuple[str, int, str]], what: str, problems: list[DataProblem]
) -> None:
    seen: dict[str, tuple[str, int]] = {}
    for name, pos, key in items:
        if key in seen:
            first_name, first_pos = seen[key]
            first = (f"record {first_pos}" if first_name == name
                     else f"{first_name} record {first_pos}")
            problems.append(DataProblem(
                name, f"duplicate {what} {key!r} (first at {first})", pos, key, "id"))
        else:
            seen[key] = (name, pos)


def _same_structure(
    subs: Sequence[tuple[str, int, SubstanceRecord]], problems: list[DataProblem]
) -> None:
    """Two records of one structure (same InChIKey) split its listings between them, so a
    check finds one and misses the other's: report both records."""
    seen: dict[str, tuple[str, int, str]] = {}
    for name, pos, rec in subs:
        key = from_smiles(rec.smiles).inchikey  # the SMILES was parsed on validation
        if key in seen:
            first_name, first_pos, first_id = seen[key]
            if first_id == rec.id:
                continue  # reported as a duplicate id already
            where = "" if first_name == name else f"{first_name} "
            problems.append(DataProblem(
                name, f"same structure (InChIKey {key}) as {where}record {first_pos} "
                f"(id {first_id!r}); merge them into one record", pos, rec.id, "smiles"))
        else:
            seen[key] = (name, pos, rec.id)


def load_controls(data_dir: Path | None = None) -> ControlSet:
    """Load and validate the control lists; the bundled set (data_dir None) is loaded once."""
    if data_dir is None:
        return _load_bundled()
    return _load(Path(data_dir))


@lru_cache(maxsize=1)
def _load_bundled() -> ControlSet:
    return _load(DATA_DIR)


def _data_files(data_dir: Path, single: str, folder: str) -> list[tuple[Path, str]]:
    """The single file and/or every file of the folder, with the names problems give."""
    found = [(data_dir / single, single)] if (data_dir / single).exists() else []
    sub = data_dir / folder
    if sub.is_dir():
        found += [(p, f"{folder}/{p.name}") for p in sorted(sub.glob("*.yaml"))]
    # Neither: reading the single file reports it missing.
    return found or [(data_dir / single, single)]


def _load(data_dir: Path) -> ControlSet:
    problems: list[DataProblem] = []

    subs: list[tuple[str, int, SubstanceRecord]] = []
    known: set[str] = set()
    for path, name in _data_files(data_dir, SUBSTANCES_FILE, SUBSTANCES_DIR):
        raw_subs = _read_yaml_list(path, name, problems)
        subs += [(name, p, r) for p, r in _parse_records(SubstanceRecord, raw_subs, name, problems)]
        # Ids of invalid records count as known, so one bad record is reported once, not again
        # by every listing that names it.
        known |= {r["id"] for r in raw_subs
                  if isinstance(r, dict) and isinstance(r.get("id"), str)}
    _duplicates_across(((n, p, r.id) for n, p, r in subs), "substance id", problems)
    _same_structure(subs, problems)

    listings: list[tuple[str, int, ListingRecord]] = []
    for path, name in _data_files(data_dir, LISTINGS_FILE, LISTINGS_DIR):
        for pos, rec in _parse_records(
                ListingRecord, _read_yaml_list(path, name, problems), name, problems):
            listings.append((name, pos, rec))
            if rec.substance not in known:
                problems.append(DataProblem(
                    name, f"unknown substance {rec.substance!r} (not in the substance files)",
                    pos, rec.substance, "substance"))
    _duplicates_across(
        ((n, p, f"{r.substance}/{r.jurisdiction}/{r.list}/{r.since}") for n, p, r in listings),
        "listing", problems)

    rules: list[tuple[str, int, RuleRecord]] = []
    rules_dir = data_dir / RULES_DIR
    for path in sorted(rules_dir.glob("*.yaml")) if rules_dir.is_dir() else []:
        name = f"{RULES_DIR}/{path.name}"
        for pos, rule in _parse_records(
                RuleRecord, _read_yaml_list(path, name, problems), name, problems):
            rules.append((name, pos, rule))
            if rule.parent and rule.parent not in known:
                problems.append(DataProblem(
                    name, f"unknown parent substance {rule.parent!r} (not in the substance files)",
                    pos, rule.id, "parent"))
    seen_rules: dict[str, str] = {}
    for name, pos, rule in rules:
        if rule.id in seen_rules:
            problems.append(DataProblem(
                name, f"duplicate rule id {rule.id!r} (also in {seen_rules[rule.id]})",
                pos, rule.id, "id"))
        else:
            seen_rules[rule.id] = name

    if problems:
        raise ControlsDataError(problems)
    return ControlSet(
        substances=tuple(r.to_model() for _, _, r in subs),
        listings=tuple(r.to_model() for _, _, r in listings),
        rules=tuple(r.to_model() for _, _, r in rules),
    )


# --------------------------------------------------------------------------- data version


@dataclass(frozen=True, slots=True)
class DataVersion:
    """Which edition of the control data this is and when it was last checked against the
    instruments (`about.yaml`)."""

    version: str
    checked: dt.date
    note: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"version": self.version, "checked": self.checked.isoformat(), "note": self.note}

    def __str__(self) -> str:
        return f"control data {self.version}, checked {self.checked.isoformat()}"


class AboutRecord(_Record):
    version: Annotated[str, Field(pattern=r"^\d{4}\.\d{2}(\.\d+)?$")]  # e.g. 2026.11 or 2026.11.2
    checked: dt.date
    note: str = ""

    def to_model(self) -> DataVersion:
        return DataVersion(version=self.version, checked=self.checked, note=self.note)


def load_data_version(data_dir: Path | None = None) -> DataVersion | None:
    """The version and check date of a data folder (the bundled one when None); None when the
    folder has no `about.yaml`. Raises ControlsDataError when the file is invalid."""
    path = (Path(data_dir) if data_dir is not None else DATA_DIR) / ABOUT_FILE
    if not path.exists():
        return None
    problems: list[DataProblem] = []
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ControlsDataError([DataProblem(ABOUT_FILE, f"cannot be read: {exc}")]) from None
    if not isinstance(raw, dict):
        raise ControlsDataError([DataProblem(
            ABOUT_FILE, f"expected a mapping, found {type(raw).__name__}")])
    parsed = _parse_records(AboutRecord, [raw], ABOUT_FILE, problems)
    if not parsed:
        # one mapping, not a list: no record position to name
        raise ControlsDataError([DataProblem(p.file, p.message, field=p.field) for p in problems])
    return parsed[0][1].to_model()


@lru_cache(maxsize=1)
def controls_data_version() -> DataVersion | None:
    """The bundled control data's version and check date (for `pwatch lists`, `--version`)."""
    return load_data_version()
