"""Designer and masked precursors: what one (or two) known steps turn into a listed substance.

A chemical that is not listed but becomes a listed precursor, a fentanyl or a member of a listed
structural class after a deprotection, a ketal hydrolysis, a debenzylation, a reductive amination
and the like is a *designer* precursor. `find_designer` applies the cited transformations
(`transform.py`), standardises the products and compares them with the listed fentanyl
precursors, the fentanyls and the fentanyl families and classes in force; each
hit is a `Match` with basis "transformation", the steps as data, and a chemist's explanation:

    tert-butyl 4-(N-phenylpropanamido)piperidine-1-carboxylate --[Boc deprotection]-->
    norfentanyl (UN 1988 Convention Table I since 2022-...)

Whether the input is itself controlled is the caller's decision; this module only finds routes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache

from rdkit import Chem

from precursorwatch.chem.structure import Structure, to_mol
from precursorwatch.controls.model import ControlSet
from precursorwatch.detect.classes import class_matches
from precursorwatch.detect.identity import identity_matches
from precursorwatch.detect.lookup import ControlIndex, control_index
from precursorwatch.detect.similarity import is_fentanyl_related
from precursorwatch.detect.transform import (
    Product,
    Transformation,
    apply_transformations,
    load_transformations,
)
from precursorwatch.detect.verdict import Match, Step

MAX_DEPTH = 3

# The part every route to a fentanyl target keeps: a piperidine (saturated or partly
# unsaturated) whose C4 carries a ketone, a hydroxyl, a ketal/acetal, an enol ether, an imine
# or an acyclic N bearing an aromatic ring (anilino, anilido). Every listed fentanyl precursor
# and fentanyl has one of these, and no transformation in data/transformations.yaml creates
# one from anything else (reductive amination turns the ketone into the anilino group, imine
# hydrolysis the imine into the ketone). So a structure without it has no route of any depth
# to a fentanyl target, and a product without it is pruned; tests pin this on the lists.
_C4 = ("[#6;!a;R;$(*=[#8]),$(*-[OX2H1]),$(*(-[#8])-[#8]),$(*(-[#8])=[#6]),$(*=[#7]),"
       "$(*-[#7;!a;!R]-a)]")
ROUTE_CORE_SMARTS = f"[#7;!a;R]1~[#6;!a;R]~[#6;!a;R]~{_C4}~[#6;!a;R]~[#6;!a;R]~1"
ROUTE_CORE = Chem.MolFromSmarts(ROUTE_CORE_SMARTS)
# The same ring with any N or O on C4, without recursive SMARTS: a cheap first test (RDKit
# evaluates recursive SMARTS over every atom before matching).
ROUTE_CORE_QUICK = Chem.MolFromSmarts(
    "[#7;!a;R]1~[#6;!a;R]~[#6;!a;R]~[#6;!a;R](~[#7,#8])~[#6;!a;R]~[#6;!a;R]~1"
)


def route_core_in(mol: Chem.Mol) -> bool:
    """Whether a molecule has the route core (cheap test first)."""
    return bool(mol.HasSubstructMatch(ROUTE_CORE_QUICK) and mol.HasSubstructMatch(ROUTE_CORE))


@lru_cache(maxsize=100_000)
def has_route_core(structure: Structure) -> bool:
    """Whether any route could lead from this structure to a fentanyl target."""
    return route_core_in(to_mol(structure))


@dataclass(frozen=True, slots=True)
class _Path:
    """The steps from the input to one product."""

    products: tuple[Product, ...]

    @property
    def end(self) -> Structure:
        return self.products[-1].structure


@dataclass(frozen=True, slots=True)
class Targets:
    """What a route must reach to make its start a designer precursor: the listed fentanyl
    precursors and fentanyls (by substance name) and the fentanyl families and classes (by
    rule id). Hydrolysing piperine to piperidine (UN Table II) is chemistry, not a designer
    fentanyl precursor."""

    substances: frozenset[str]
    rules: frozenset[str]


_TARGETS: dict[int, tuple[ControlSet, Targets]] = {}


def fentanyl_targets(controls: ControlSet) -> Targets:
    """The fentanyl-related substances and rules of a ControlSet (computed once per set)."""
    found = _TARGETS.get(id(controls))
    if found is not None and found[0] is controls:
        return found[1]
    related = {s.id for s in controls.substances if is_fentanyl_related(s)}
    names = frozenset(s.name for s in controls.substances if s.id in related)
    rules = frozenset(
        r.id for r in controls.rules
        if r.parent in related
        or (not r.parent and r.kind == "class"
            and any(w in r.label.lower() for w in ("fentanyl", "frs")))
    )
    targets = Targets(names, rules)
    _TARGETS[id(controls)] = (controls, targets)
    return targets


def listed_product_matches(
    structure: Structure,
    index: ControlIndex,
    *,
    as_of: dt.date,
    jurisdictions: Collection[str] | None = None,
) -> list[Match]:
    """Control listings in force for a product that name a fentanyl precursor, a fentanyl, or
    a fentanyl family or class (identity, stereoisomer, family or class match)."""
    targets = fentanyl_targets(index.controls)
    if not has_route_core(structure):
        return []  # no fentanyl target lacks the route core
    found = [
        m for m in identity_matches(structure, index, as_of=as_of, jurisdictions=jurisdictions)
        if m.substance in targets.substances
    ]
    found += [
        m for m in class_matches(structure, index, as_of=as_of, jurisdictions=jurisdictions,
                                 mol=to_mol(structure))
        if m.rule in targets.rules
    ]
    # A product that is only a watched reagent (aniline, propionic acid) makes nothing designer.
    return [m for m in found if m.effect == "control"]


def _describe_listing(match: Match) -> str:
    """`UN 1988 Convention Table I since 2022-...` for identity; class label for class hits."""
    return f"{match.jurisdiction} {match.list} since {match.since}"


def _product_name(match: Match) -> str:
    # Identity hits name the listed substance; class hits name the class rule's label.
    return match.substance


def _intermediate_name(structure: Structure, index: ControlIndex) -> str:
    """An intermediate by the name of the substance it is in the control data (listed
    elsewhere or later), else by its SMILES."""
    known = index.by_inchikey.get(structure.inchikey)
    return known[0].name if known else ""


def _step_product_name(structure: Structure, match: Match, last: bool,
                       index: ControlIndex) -> str:
    """The listed substance for the last step (none for a class member: the class is not its
    name); a known substance's name for an intermediate."""
    if last:
        return _product_name(match) if match.basis != "class" else ""
    return _intermediate_name(structure, index)


def _explain(start: str, path: _Path, match: Match, index: ControlIndex) -> str:
    text = start
    for i, product in enumerate(path.products):
        last = i == len(path.products) - 1
        name = (_product_name(match) if last
                else _intermediate_name(product.structure, index) or product.structure.smiles)
        if last and match.basis == "class":
            name = f"{product.structure.smiles}, a member of \"{match.substance}\""
        elif last and match.basis == "stereoisomer":
            name = f"a stereoisomer of {match.substance}"
        text += f" --[{product.transformation.name}]--> {name}"
    return f"{text} ({_describe_listing(match)})"


def _steps(start: Structure, path: _Path, match: Match, index: ControlIndex) -> list[Step]:
    steps: list[Step] = []
    reactant = start.smiles
    for i, product in enumerate(path.products):
        last = i == len(path.products) - 1
        steps.append(
            Step(
                transformation=product.transformation.name,
                reactant_smiles=reactant,
                product_smiles=product.structure.smiles,
                product_name=_step_product_name(product.structure, match, last, index),
                product_inchikey=product.structure.inchikey,
            )
        )
        reactant = product.structure.smiles
    return steps


def _to_designer_match(start: Structure, start_name: str, path: _Path, match: Match,
                       index: ControlIndex) -> Match:
    source = "; ".join(
        dict.fromkeys(
            [match.source, *(f"step {p.transformation.name}: {p.transformation.source}"
                             for p in path.products)]
        )
    )
    return Match(
        substance=match.substance,
        jurisdiction=match.jurisdiction,
        list=match.list,
        category=match.category,
        since=match.since,
        until=match.until,
        basis="transformation",
        explanation=_explain(start_name, path, match, index),
        source=source,
        legal_reference=match.legal_reference,
        effect="control",
        rule=match.rule,
        steps=_steps(start, path, match, index),
        # the product's listing is the one cited; its threshold is the product's, not the input's
        verification=match.verification,
    )


def _search(
    start: Structure,
    index: ControlIndex,
    as_of: dt.date,
    jurisdictions: frozenset[str] | None,
    depth: int,
    transformations: tuple[Transformation, ...],
) -> list[tuple[_Path, Match]]:
    """Breadth-first over products; a route stops at its first listed product (shortest route)."""
    seen: set[str] = {start.inchikey}
    frontier: list[_Path] = [_Path(())]
    hits: list[tuple[_Path, Match]] = []
    for _ in range(depth):
        next_frontier: list[_Path] = []
        for path in frontier:
            current = path.end if path.products else start
            for product in apply_transformations(current, transformations,
                                                 require=ROUTE_CORE_SMARTS):
                key = product.structure.inchikey
                if key in seen:
                    continue
                seen.add(key)
                extended = _Path((*path.products, product))
                matches = listed_product_matches(
                    product.structure, index, as_of=as_of, jurisdictions=jurisdictions
                )
                if matches:
                    hits.extend((extended, m) for m in matches)
                else:
                    next_frontier.append(extended)
        frontier = next_frontier
        if not frontier:
            break
    return hits


@lru_cache(maxsize=50_000)
def _find_cached(
    structure: Structure,
    index: ControlIndex,
    as_of: dt.date,
    jurisdictions: frozenset[str] | None,
    depth: int,
    name: str,
    transformations: tuple[Transformation, ...],
) -> tuple[Match, ...]:
    if not has_route_core(structure):
        return ()  # no route can reach a fentanyl target (see ROUTE_CORE_SMARTS)
    hits = _search(structure, index, as_of, jurisdictions, depth, transformations)
    out: dict[tuple[str, ...], Match] = {}
    for path, match in hits:
        key = (path.end.inchikey, match.jurisdiction, match.list, match.substance,
               match.rule or "")
        out.setdefault(key, _to_designer_match(structure, name, path, match, index))
    return tuple(out.values())


def find_designer(
    structure: Structure,
    controls: ControlSet,
    *,
    as_of: dt.date | None = None,
    jurisdictions: Collection[str] | None = None,
    depth: int = 1,
    name: str | None = None,
    transformations: tuple[Transformation, ...] | None = None,
) -> list[Match]:
    """Routes of `depth` known steps or fewer from `structure` to a listed substance or class.

    One Match per (product, listing): basis "transformation", `steps` from the input to the
    product, the listing the product falls under (substance or class label, jurisdiction, list,
    since, source). `name` is how the explanation names the input (default: its SMILES).
    An empty list means no known route; it says nothing about the input's own listing.
    """
    if depth < 0 or depth > MAX_DEPTH:
        raise ValueError(f"depth must be between 0 and {MAX_DEPTH}, not {depth}")
    if depth == 0:
        return []
    on = as_of or dt.date.today()
    wanted = frozenset(jurisdictions) if jurisdictions else None
    chosen = transformations if transformations is not None else load_transformations()
    return list(
        _find_cached(structure, control_index(controls), on, wanted, depth,
                     name or structure.smiles, chosen)
    )
