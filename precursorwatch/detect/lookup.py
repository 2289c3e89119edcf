"""Indexes over a ControlSet that detection needs: structures of listed substances by InChIKey
and compiled SMARTS of structure rules. Built once per ControlSet."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from rdkit import Chem

from precursorwatch.chem.structure import Structure, StructureError, from_smiles
from precursorwatch.controls.model import ControlSet, StructureRule, Substance

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: StructureRule
    pattern: Chem.Mol
    excludes: tuple[Chem.Mol, ...]
    # What the SMILES of any molecule the pattern matches contains: one of the symbols of
    # each tuple (see `symbols_needed`).
    needs: tuple[tuple[str, ...], ...] = ()

    def matches(self, mol: Chem.Mol) -> bool:
        return mol.HasSubstructMatch(self.pattern) and not any(
            mol.HasSubstructMatch(x) for x in self.excludes
        )

    def may_match(self, smiles: str) -> bool:
        """False when `smiles`, as RDKit wrote it for a molecule, lacks an element the
        pattern needs: the pattern cannot match that molecule (no substructure search)."""
        for need in self.needs:  # plain loops: a generator costs more than the test
            for symbol in need:
                if symbol in smiles:
                    break
            else:
                return False
        return True


_QUERY_LINE = re.compile(r"( *)(.*)")
_ELEMENT_QUERY = re.compile(r"(AtomType|AtomAtomicNum) (\d+) = val")


def symbols_needed(smarts: str) -> frozenset[frozenset[str]]:
    """Element symbols the SMILES of every molecule that `smarts` matches contains, one of
    each set: for an atom of the pattern that is one element (alone or under AND), its symbol
    as RDKit writes it ("C" aliphatic, "c" aromatic, either for "#6"). An atom of recursive
    alternatives alone ("[$(...),$(...)]") needs what every alternative needs. Whatever else a
    pattern has needs nothing, so a rule this cannot read is always searched."""
    alternatives = _recursive_alternatives(smarts)
    if alternatives is not None:
        common = [symbols_needed(a) for a in alternatives]
        return frozenset.intersection(*common) if common else frozenset()
    pattern = Chem.MolFromSmarts(smarts)
    if pattern is None:
        return frozenset()
    needs = (_atom_needs(atom.DescribeQuery()) for atom in pattern.GetAtoms())
    return frozenset(n for n in needs if n)


def _atom_needs(description: str) -> frozenset[str]:
    """The symbols one query atom needs, from RDKit's description of its query tree: an
    element test at the top or under AND only (never under OR or a negation)."""
    lines = [m.groups() for m in map(_QUERY_LINE.fullmatch, description.splitlines()) if m]
    depth_ok = 0  # the deepest level reached through AND nodes only
    for indent, label in lines:
        depth = len(indent) // 2
        if depth > depth_ok:
            continue
        depth_ok = depth
        if label == "AtomAnd":
            depth_ok = depth + 1
            continue
        found = _ELEMENT_QUERY.fullmatch(label)
        if found is None:
            continue
        kind, number = found.group(1), int(found.group(2))
        aromatic, element = divmod(number, 1000) if kind == "AtomType" else (None, number)
        if element < 1 or (aromatic not in (None, 0, 1)):
            continue
        symbol = Chem.GetPeriodicTable().GetElementSymbol(element)
        if aromatic is None:
            return frozenset({symbol, symbol.lower()})
        return frozenset({symbol.lower() if aromatic else symbol})
    return frozenset()


def _recursive_alternatives(smarts: str) -> list[str] | None:
    """The SMARTS of each alternative of a pattern that is one atom of recursive alternatives
    only ("[$(A),$(B)]"), else None."""
    text = smarts.strip()
    if not (text.startswith("[$(") and text.endswith(")]")):
        return None
    out: list[str] = []
    i, body = 0, text[1:-1]
    while i < len(body):
        if not body.startswith("$(", i):
            return None
        depth, j = 0, i + 1
        while j < len(body):
            depth += {"(": 1, ")": -1}.get(body[j], 0)
            if depth == 0:
                break
            j += 1
        if depth != 0:
            return None
        out.append(body[i + 2:j])
        i = j + 1
        if i < len(body):
            if body[i] != ",":
                return None
            i += 1
    return out


class ControlIndex:
    """Listed substances by InChIKey and connectivity key; rules compiled to RDKit patterns."""

    def __init__(self, controls: ControlSet) -> None:
        self.controls = controls
        self.structures: dict[str, Structure] = {}
        by_key: dict[str, list[Substance]] = defaultdict(list)
        by_skeleton: dict[str, list[Substance]] = defaultdict(list)
        for sub in controls.substances:
            try:
                st = from_smiles(sub.smiles)
            except StructureError:
                continue  # the controls tests fail on this; detection skips it
            self.structures[sub.id] = st
            by_key[st.inchikey].append(sub)
            by_skeleton[st.skeleton_key].append(sub)
        self.by_inchikey = dict(by_key)
        self.by_skeleton = dict(by_skeleton)
        self.rules: tuple[CompiledRule, ...] = tuple(_compile(r) for r in controls.rules)
        listed = {x.substance for x in controls.listings}
        self.listed_ids = frozenset(listed)


def _compile(rule: StructureRule) -> CompiledRule:
    pattern = Chem.MolFromSmarts(rule.smarts)
    if pattern is None:
        raise ValueError(f"structure rule {rule.id}: SMARTS does not compile: {rule.smarts}")
    excludes = []
    for smarts in rule.exclude:
        x = Chem.MolFromSmarts(smarts)
        if x is None:
            raise ValueError(f"structure rule {rule.id}: exclude SMARTS does not compile: {smarts}")
        excludes.append(x)
    needs = sorted(tuple(sorted(n)) for n in symbols_needed(rule.smarts))
    # The likeliest to fail first: a single symbol before a choice, plain carbon last.
    needs.sort(key=lambda n: (len(n), n == ("C",)))
    return CompiledRule(rule, pattern, tuple(excludes), tuple(needs))


def per_control_set(build: Callable[[ControlSet], T]) -> Callable[[ControlSet], T]:
    """Memoise `build` per ControlSet object (kept alive with its result).

    ControlSet holds large tuples, so hashing it on every call would cost more than the lookup;
    the object's identity is the key instead.
    """
    built: dict[int, tuple[ControlSet, T]] = {}

    def get(controls: ControlSet) -> T:
        found = built.get(id(controls))
        if found is not None and found[0] is controls:
            return found[1]
        value = build(controls)
        built[id(controls)] = (controls, value)
        return value

    get.__doc__ = build.__doc__
    return get


control_index = per_control_set(ControlIndex)
"""The index for a ControlSet, built on first use."""
