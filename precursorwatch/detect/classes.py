"""Family and class listings written as structure (SMARTS): "4-AP, its amides, carbamates,
halides", "fentanyl-related substances" and the like."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from rdkit import Chem

from precursorwatch.chem.structure import Structure, to_mol
from precursorwatch.detect.identity import wanted
from precursorwatch.detect.lookup import CompiledRule, ControlIndex
from precursorwatch.detect.verdict import Match

# The rules to try for a date, jurisdictions and skipped ids: the same few for every structure
# of a batch, so they are chosen once, not rule by rule for each structure.
_TO_TRY: dict[tuple[int, dt.date, frozenset[str] | None, frozenset[str]],
              tuple[ControlIndex, tuple[CompiledRule, ...]]] = {}


def _rules_to_try(index: ControlIndex, as_of: dt.date, jurisdictions: Collection[str] | None,
                  skip: Collection[str]) -> tuple[CompiledRule, ...]:
    key = (id(index), as_of, None if jurisdictions is None else frozenset(jurisdictions),
           skip if isinstance(skip, frozenset) else frozenset(skip))
    found = _TO_TRY.get(key)
    if found is not None and found[0] is index:
        return found[1]
    rules = tuple(c for c in index.rules if c.rule.id not in skip
                  and c.rule.in_force(as_of) and wanted(c.rule.jurisdiction, jurisdictions))
    if len(_TO_TRY) > 1000:
        _TO_TRY.clear()
    _TO_TRY[key] = (index, rules)  # the entry keeps the index alive, so its id stays its own
    return rules


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
    Rules whose id is in `skip` are not tried: the caller has shown they cannot match.
    `mol`: the parent's own molecule (`to_mol`, `parent_mol`), where the caller has it.
    Where the parent's SMILES was written from its molecule, a rule needing an element that
    SMILES lacks (an aromatic carbon, say) is not searched for (`CompiledRule.may_match`)."""
    mol = mol if mol is not None else to_mol(structure)
    written = structure.smiles if structure.written_from_parent else None
    out: list[Match] = []
    for compiled in _rules_to_try(index, as_of, jurisdictions, skip):
        rule = compiled.rule
        if written is not None and not compiled.may_match(written):
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
