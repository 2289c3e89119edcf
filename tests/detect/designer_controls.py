"""A small ControlSet built from the model classes: the seven UN Table I fentanyl precursors,
fentanyl, benzylfentanyl, two watched reagents, and the bundled FRS class rules
(precursorwatch/controls/data/rules/fentanyl_classes.yaml). Dates follow the regulators cited in
the bundled listings; the detection tests need the structures and rules, not every listing of
every country."""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources

import yaml

from precursorwatch.controls.model import ControlSet, Listing, StructureRule, Substance

UN_TABLE_I = "1988 Convention Table I"
INCB = "https://www.incb.org/incb/en/precursors/"

_SUBSTANCES = [
    # id, name, smiles, role
    ("4-piperidone", "4-piperidone", "O=C1CCNCC1", "fentanyl precursor"),
    ("1-boc-4-piperidone", "1-boc-4-piperidone", "CC(C)(C)OC(=O)N1CCC(=O)CC1",
     "fentanyl precursor"),
    ("npp", "NPP", "O=C1CCN(CCc2ccccc2)CC1", "fentanyl precursor"),
    ("anpp", "ANPP", "c1ccc(CCN2CCC(Nc3ccccc3)CC2)cc1", "fentanyl precursor"),
    ("4-ap", "4-AP", "c1ccc(NC2CCNCC2)cc1", "fentanyl precursor"),
    ("1-boc-4-ap", "1-boc-4-AP", "CC(C)(C)OC(=O)N1CCC(Nc2ccccc2)CC1", "fentanyl precursor"),
    ("norfentanyl", "norfentanyl", "CCC(=O)N(c1ccccc1)C1CCNCC1", "fentanyl precursor"),
    ("fentanyl", "fentanyl", "CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1", "opioid (fentanyl)"),
    ("benzylfentanyl", "benzylfentanyl", "CCC(=O)N(c1ccccc1)C1CCN(Cc2ccccc2)CC1",
     "fentanyl precursor"),
    ("aniline", "aniline", "Nc1ccccc1", "reagent"),
    ("propionyl-chloride", "propionyl chloride", "CCC(=O)Cl", "reagent"),
]

_LISTINGS = [
    # substance, jurisdiction, list, category, since, effect
    ("npp", "UN", UN_TABLE_I, "Table I", "2017-10-18", "control"),
    ("anpp", "UN", UN_TABLE_I, "Table I", "2017-10-18", "control"),
    ("4-ap", "UN", UN_TABLE_I, "Table I", "2022-11-23", "control"),
    ("1-boc-4-ap", "UN", UN_TABLE_I, "Table I", "2022-11-23", "control"),
    ("norfentanyl", "UN", UN_TABLE_I, "Table I", "2022-11-23", "control"),
    ("4-piperidone", "UN", UN_TABLE_I, "Table I", "2024-12-03", "control"),
    ("1-boc-4-piperidone", "UN", UN_TABLE_I, "Table I", "2024-12-03", "control"),
    ("fentanyl", "UN", "1961 Convention Schedule I", "Schedule I", "1964-03-11", "control"),
    ("fentanyl", "US", "Schedule II (21 CFR 1308.12)", "Schedule II", "1971-05-01", "control"),
    ("benzylfentanyl", "US", "List I (21 CFR 1310.02)", "List I", "2020-05-15", "control"),
    ("npp", "US", "List I (21 CFR 1310.02)", "List I", "2008-07-25", "control"),
    ("anpp", "US", "Schedule II (21 CFR 1308.12)", "Schedule II", "2010-08-30", "control"),
    ("norfentanyl", "US", "Schedule II (21 CFR 1308.12)", "Schedule II", "2020-05-18", "control"),
    ("4-ap", "US", "List I (21 CFR 1310.02)", "List I", "2020-05-15", "control"),
    ("1-boc-4-ap", "US", "List I (21 CFR 1310.02)", "List I", "2022-11-09", "control"),
    ("4-piperidone", "US", "List I (21 CFR 1310.02)", "List I", "2023-05-12", "control"),
    ("1-boc-4-piperidone", "US", "List I (21 CFR 1310.02)", "List I", "2025-10-02", "control"),
    ("aniline", "UN", "watch: acylation and amination reagents", "watch", "2017-10-18", "watch"),
    ("propionyl-chloride", "CA", "Class A precursor", "Class A", "2017-12-27", "control"),
]


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def class_rules() -> tuple[StructureRule, ...]:
    """The bundled FRS class rules, read straight from the package data file."""
    text = (resources.files("precursorwatch.controls") / "data" / "rules" /
            "fentanyl_classes.yaml").read_text("utf-8")
    out = []
    for row in yaml.safe_load(text):
        out.append(StructureRule(
            id=row["id"], label=row["label"], jurisdiction=row["jurisdiction"], list=row["list"],
            category=row["category"], since=row["since"], smarts=row["smarts"],
            legal_reference=row["legal_reference"], source=row["source"],
            exclude=tuple(row.get("exclude", ())), effect=row["effect"], kind=row["kind"],
            note=row.get("note", ""),
        ))
    return tuple(out)


@cache
def small_controls() -> ControlSet:
    substances = tuple(
        Substance(id=i, name=n, smiles=s, role=r) for i, n, s, r in _SUBSTANCES
    )
    listings = tuple(
        Listing(substance=s, jurisdiction=j, list=lst, category=c, since=_date(d),
                legal_reference=f"{j} {lst}", source=INCB, effect=e)  # type: ignore[arg-type]
        for s, j, lst, c, d, e in _LISTINGS
    )
    return ControlSet(substances=substances, listings=listings, rules=class_rules())
