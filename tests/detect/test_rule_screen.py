"""A structure rule is not searched for where the parent's SMILES lacks an element its SMARTS
needs; it must never skip a rule that matches."""

from __future__ import annotations

import pytest

from precursorwatch.chem.structure import from_smiles, parent_mol
from precursorwatch.controls.load import load_controls
from precursorwatch.detect.lookup import control_index, symbols_needed


@pytest.mark.parametrize(
    ("smarts", "needs"),
    [("[CH3]C(=O)c1ccccc1", {("C",), ("O",), ("c",)}),
     ("[#7;!$(NC=O)]", {("N", "n")}),
     ("[$(CC(=O)c1ccccc1),$(CC1(C=O)OC1c1ccccc1)]", {("C",), ("O",), ("c",)}),
     ("[$(c1ccccc1O),$(c1ccccc1N)]", {("c",)}),
     ("[C,c]", set()), ("[!C]", set()), ("[#6,#7;X3]", set()), ("*", set()),
     ("[C;H3,!H2]", {("C",)}), ("[se]", {("se",)}), ("[Cl]", {("Cl",)}),
     ("C[$(C=O)]", {("C",)}), ("[$(C=O)]N", {("N",)})],
)
def test_what_a_pattern_needs(smarts: str, needs: set[tuple[str, ...]]) -> None:
    assert {tuple(sorted(n)) for n in symbols_needed(smarts)} == needs


SMILES = [
    "CC(=O)Cc1ccccc1", "CC(=O)Cc1ccc2OCOc2c1", "CC1(C(=O)OC)OC1c1ccccc1",
    "CCOC(=O)C1(C)OC1c1ccc2c(c1)OCO2", "O=C1CCN(CCc2ccccc2)CC1", "c1ccc(NC2CCNCC2)cc1",
    "CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1", "CC(=O)CC1CCCCC1", "CC(=O)C(C)C1=CC=CC=C1",
    "C1CCNCC1", "OC(=O)c1ccco1", "CN1C=Nc2c1c(=O)n(C)c(=O)n2C", "O=C1CCNCC1.Cl",
    "CC(N)Cc1ccccc1.OS(=O)(=O)O", "[Na+].CC(=O)[O-]", "C[NH3+]", "c1cc[nH]c1",
]


@pytest.mark.parametrize("smiles", SMILES)
def test_no_rule_that_matches_is_skipped(smiles: str) -> None:
    index = control_index(load_controls())
    st = from_smiles(smiles)
    mol = parent_mol(st)
    for compiled in index.rules:
        if st.written_from_parent and not compiled.may_match(st.smiles):
            assert not mol.HasSubstructMatch(compiled.pattern), compiled.rule.id
