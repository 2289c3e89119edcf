"""Indexes over a ControlSet that detection needs: structures of listed substances by InChIKey
and compiled SMARTS of structure rules. Built once per ControlSet."""

from __future__ import annotations

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

    def matches(self, mol: Chem.Mol) -> bool:
        return mol.HasSubstructMatch(self.pattern) and not any(
            mol.HasSubstructMatch(x) for x in self.excludes
        )


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
    return CompiledRule(rule, pattern, tuple(excludes))


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
