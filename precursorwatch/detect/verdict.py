"""Verdicts and their evidence (Contract 1).

Every verdict carries the evidence as data, so the CLI, API and UI explain without recomputing.
"""

from __future__ import annotations

import builtins
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

VerdictName = Literal["controlled", "designer", "watch", "clear", "unresolved"]
# Strongest first: the order in which a substance's verdict is decided.
VERDICT_ORDER: tuple[VerdictName, ...] = ("controlled", "designer", "watch", "clear", "unresolved")

ResolvedBy = Literal["cas", "synonym", "iupac", "smiles", "inchi", "inchikey", "fuzzy", "none"]
Basis = Literal["identity", "salt", "stereoisomer", "class", "transformation", "similarity"]


class Step(BaseModel):
    """One synthetic step of a transformation path (issue: designer precursors)."""

    model_config = ConfigDict(frozen=True)

    transformation: str  # e.g. "Boc deprotection"
    reactant_smiles: str
    product_smiles: str
    product_name: str = ""
    product_inchikey: str = ""


class Threshold(BaseModel):
    """A listing's quantity threshold: below it a transaction is not regulated as such (e.g. US
    List I, 21 CFR 1310.04). Compare a quantity with `controls.model.threshold_reached`."""

    model_config = ConfigDict(frozen=True)

    quantity: float
    unit: str  # "kg", "g", "L", "mL", "gal", "dosage units"
    basis: str = ""  # e.g. "cumulative per calendar month", "import and export"
    reference: str = ""  # the provision that sets it, e.g. "21 CFR 1310.04(f)(1)"


class Match(BaseModel):
    """One reason a substance is covered: which list, on which basis, with the source."""

    model_config = ConfigDict(frozen=True)

    substance: str  # the listed substance's name (or the class label)
    jurisdiction: str
    list: str
    category: str = ""
    since: str  # ISO date
    until: str | None = None
    basis: Basis
    explanation: str
    source: str
    legal_reference: str = ""
    effect: Literal["control", "watch"] = "control"
    rule: str | None = None  # StructureRule.id for class/family matches
    steps: builtins.list[Step] | None = None  # for basis "transformation"
    score: float | None = None  # for basis "similarity"
    # how far the listing's citation was checked: primary, secondary or unverified
    verification: Literal["primary", "secondary", "unverified"] | None = None
    threshold: Threshold | None = None  # the listing's quantity threshold, where the law has one


class Verdict(BaseModel):
    """The answer for one input identifier (one line of `pwatch check --format jsonl`)."""

    model_config = ConfigDict(frozen=True)

    input: str
    resolved_by: ResolvedBy
    name: str | None = None
    smiles: str | None = None
    inchikey: str | None = None
    cas: str | None = None
    language: str | None = None  # language of the name that matched ("en", "es", "zh")
    verdict: VerdictName
    matches: list[Match] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # e.g. fuzzy score, ambiguity, stripped salt
    reason: str | None = None  # why `unresolved`
