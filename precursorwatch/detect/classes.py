"""Family and class listings written as structure (SMARTS): "4-AP, its amides, carbamates,
halides", "fentanyl-related substances" and the like."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from rdkit import Chem

from precursorwatch.chem.structure import Structure, to_mol
from precursorwatch.detect.identity import wanted
from precursorwatch.detect.lookup import ControlIndex
from precursorwatch.detect.verdict import Match


def class_matches(
    structure: Structure,
    index: ControlIndex,
    *,
    as_of: dt.date,
    jurisdictions: Collection[str] | None = None,
    mol: Chem.Mol | None = None,
    skip: Collection[str] = frozenset(),
) -> list[Match]:
    """Structure rules in force on `as_of` whose SMARTS match and whose exclusions do not.
    Rules whose id is in `skip` are not tried: the caller has shown they cannot match."""
    mol = mol if mol is not None else to_mol(structure)
    out: list[Match] = []
    for compiled in index.rules:
        rule = compiled.rule
        if rule.id in skip:
            continue
        if not (rule.in_force(as_of) and wanted(rule.jurisdiction, jurisdictions)):
            continue
        if not compiled.matches(mol):
            continue
        ref = f" ({rule.legal_reference})" if rule.legal_reference else ""
        kind = "class" if rule.kind == "class" else "family listing"
        out.append(
            Match(
                substance=rule.label,
                jurisdiction=rule.jurisdiction,
                list=rule.list,
                category=rule.category,
                since=rule.since.isoformat(),
                until=rule.until.isoformat() if rule.until else None,
                basis="class",
                explanation=(f"falls under the {kind} \"{rule.label}\" of {rule.jurisdiction} "
                             f"{rule.list} since {rule.since.isoformat()}{ref}"),
                source=rule.source,
                legal_reference=rule.legal_reference,
                effect=rule.effect,
                rule=rule.id,
                verification=rule.verification,
            )
        )
    return out
