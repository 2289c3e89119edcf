"""Which fragment of a salt or mixture is the parent: real salts, every order of fragments.

The parent of an organic salt is its organic base (or acid) whatever the size of the counter-ion;
an all-inorganic salt is the salt itself, never its acid (the 1988 Convention lists hydrochloric
and sulphuric acid but excludes their salts, and lists potassium permanganate, not every
permanganate).
"""

from __future__ import annotations

from itertools import permutations

import pytest
from rdkit import Chem

from precursorwatch.chem.structure import Structure, from_smiles

CITRIC = "OC(=O)CC(O)(CC(=O)O)C(=O)O"
TOSIC = "Cc1ccc(S(=O)(=O)O)cc1"


def _key(smiles: str) -> str:
    """InChIKey straight from RDKit, not through the code under test."""
    return str(Chem.MolToInchiKey(Chem.MolFromSmiles(smiles)))


def _orders(smiles: str) -> list[str]:
    """Every order of the fragments (up to 24)."""
    frags = smiles.split(".")
    return sorted({".".join(p) for p in permutations(frags)})[:24]


# (salt as SMILES, SMILES of the expected parent, words for what is removed)
ORGANIC_SALTS = [
    ("piperidine citrate", f"C1CCNCC1.{CITRIC}", "C1CCNCC1", ("citrate",)),
    ("ephedrine citrate", f"CN[C@@H](C)[C@H](O)c1ccccc1.{CITRIC}",
     "CN[C@@H](C)[C@H](O)c1ccccc1", ("citrate",)),
    ("norephedrine citrate", f"CC(N)C(O)c1ccccc1.{CITRIC}", "CC(N)C(O)c1ccccc1", ("citrate",)),
    ("4-piperidone tosylate", f"O=C1CCNCC1.{TOSIC}", "O=C1CCNCC1", ("tosylate",)),
    ("4-piperidone hydrochloride monohydrate", "O=C1CCNCC1.Cl.O", "O=C1CCNCC1",
     ("hydrochloride", "water")),
    ("fentanyl citrate", f"CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1.{CITRIC}",
     "CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1", ("citrate",)),
    ("pseudoephedrine sulfate (2:1)",
     "CN[C@@H](C)[C@@H](O)c1ccccc1.CN[C@@H](C)[C@@H](O)c1ccccc1.OS(=O)(=O)O",
     "CN[C@@H](C)[C@@H](O)c1ccccc1", ("sulfate",)),
    ("4-AP dihydrochloride, ionic", "[Cl-].[Cl-].c1ccc([NH2+]C2CC[NH2+]CC2)cc1",
     "c1ccc(NC2CCNCC2)cc1", ("hydrochloride",)),
    ("norfentanyl oxalate", "CCC(=O)N(c1ccccc1)C1CCNCC1.OC(=O)C(=O)O",
     "CCC(=O)N(c1ccccc1)C1CCNCC1", ("oxalate",)),
    ("sodium phenylacetate, ionic", "[Na+].[O-]C(=O)Cc1ccccc1", "OC(=O)Cc1ccccc1", ("sodium",)),
    ("sodium phenylacetate, drawn with an O-Na bond", "O=C(O[Na])Cc1ccccc1", "OC(=O)Cc1ccccc1",
     ("sodium",)),
    ("sodium citrate: the salt of citric acid",
     "[Na+].[Na+].[Na+].[O-]C(=O)CC(O)(CC(=O)[O-])C(=O)[O-]", CITRIC, ("sodium",)),
]


@pytest.mark.parametrize(("label", "salt", "parent", "words"), ORGANIC_SALTS,
                         ids=[c[0] for c in ORGANIC_SALTS])
def test_the_organic_base_or_acid_is_the_parent_in_any_order(
        label: str, salt: str, parent: str, words: tuple[str, ...]) -> None:
    for order in _orders(salt):
        st = from_smiles(order)
        assert st.inchikey == _key(parent), (label, order, st)
        assert st.stripped == words, (label, order)
        assert st.is_salt_or_hydrate


INORGANIC_SALTS = [
    ("sodium chloride", "[Na+].[Cl-]"),
    ("sodium chloride, covalent", "[Na]Cl"),
    ("potassium chloride", "[K+].[Cl-]"),
    ("ammonium chloride", "[NH4+].[Cl-]"),
    ("strontium dichloride", "[Sr+2].[Cl-].[Cl-]"),
    ("vanadium(II) chloride", "[V+2].[Cl-].[Cl-]"),
    ("sodium sulfate", "[Na+].[Na+].[O-]S(=O)(=O)[O-]"),
    ("calcium sulfate", "[Ca+2].[O-]S(=O)(=O)[O-]"),
    ("sodium bisulfate", "[Na+].OS(=O)(=O)[O-]"),
    ("hydrazine sulfate", "NN.OS(=O)(=O)O"),
    ("cadmium nitrate, neutral atoms as PubChem writes it", "O=[N+]([O-])O.[Cd]"),
    ("potassium permanganate", "[K+].[O-][Mn](=O)(=O)=O"),
    ("sodium permanganate", "[Na+].[O-][Mn](=O)(=O)=O"),
    ("calcium permanganate", "[Ca+2].[O-][Mn](=O)(=O)=O.[O-][Mn](=O)(=O)=O"),
    ("zinc permanganate", "[Zn+2].[O-][Mn](=O)(=O)=O.[O-][Mn](=O)(=O)=O"),
    ("lithium hexafluorophosphate", "[Li+].F[P-](F)(F)(F)(F)F"),
    ("potassium carbonate", "[K+].[K+].[O-]C([O-])=O"),
    ("sodium cyanide", "[Na+].[C-]#N"),
]


@pytest.mark.parametrize(("label", "salt"), INORGANIC_SALTS, ids=[c[0] for c in INORGANIC_SALTS])
def test_an_inorganic_salt_is_the_salt_not_its_acid(label: str, salt: str) -> None:
    whole = _key(salt)
    acids = {_key("Cl"), _key("OS(=O)(=O)O"), _key("O[N+](=O)[O-]"), _key("O[Mn](=O)(=O)=O")}
    for order in _orders(salt):
        st = from_smiles(order)
        assert st.inchikey == whole, (label, order, st)
        assert st.inchikey not in acids
        assert st.alternatives == ()


def test_the_permanganates_differ_from_potassium_permanganate() -> None:
    potassium = from_smiles("O=[Mn](=O)(=O)[O-].[K+]")  # as the control data writes it
    assert potassium == from_smiles("[K+].[O-][Mn](=O)(=O)=O")
    others = [from_smiles(s) for s in ("[Na+].[O-][Mn](=O)(=O)=O",
                                       "[Ca+2].[O-][Mn](=O)(=O)=O.[O-][Mn](=O)(=O)=O",
                                       "[Zn+2].[O-][Mn](=O)(=O)=O.[O-][Mn](=O)(=O)=O")]
    assert {o.skeleton_key for o in others}.isdisjoint({potassium.skeleton_key})


@pytest.mark.parametrize(("given", "acid", "words"), [
    ("Cl", "Cl", ()), ("Cl.O", "Cl", ("water",)), ("O.Cl", "Cl", ("water",)),
    ("[H+].[Cl-]", "Cl", ()), ("OS(=O)(=O)O", "OS(=O)(=O)O", ()),
    ("O.OS(=O)(=O)O", "OS(=O)(=O)O", ("water",)),
])
def test_the_acid_itself_stays_the_acid(given: str, acid: str, words: tuple[str, ...]) -> None:
    st = from_smiles(given)
    assert st.inchikey == _key(acid)
    assert st.stripped == words


def test_a_hydrated_inorganic_salt_keeps_the_salt_and_names_the_water() -> None:
    st = from_smiles("O.O.[Ca+2].[O-]S([O-])(=O)=O")
    assert st.inchikey == _key("[Ca+2].[O-]S([O-])(=O)=O")
    assert st.stripped == ("water",)


def test_two_organic_parts_are_both_kept_whatever_their_size() -> None:
    # 4-AP with pamoic acid, a counter-acid too rare for the table and bigger than 4-AP:
    # the amine is the parent, the acid an alternative, and both are checked.
    pamoic = "OC(=O)c1cc2ccccc2c(Cc2c(O)c(C(=O)O)cc3ccccc23)c1O"
    for order in (f"c1ccc(NC2CCNCC2)cc1.{pamoic}", f"{pamoic}.c1ccc(NC2CCNCC2)cc1"):
        st = from_smiles(order)
        assert st.inchikey == _key("c1ccc(NC2CCNCC2)cc1")
        assert [a.inchikey for a in st.alternatives] == [_key(pamoic)]
        assert [c.inchikey for c in st.components] == [st.inchikey, _key(pamoic)]


def test_a_mixture_of_two_solvents_keeps_both() -> None:
    st = from_smiles("CC(C)=O.Cc1ccccc1")
    keys = {c.inchikey for c in st.components}
    assert keys == {_key("CC(C)=O"), _key("Cc1ccccc1")}


def test_the_structure_is_a_value_equal_in_every_order() -> None:
    forms = {from_smiles(o) for o in _orders("CC(N)C(O)c1ccccc1.Cl.O.[Na+].[Cl-]")}
    assert len(forms) == 1
    only: Structure = forms.pop()
    assert only.inchikey == _key("CC(N)C(O)c1ccccc1")


@pytest.mark.parametrize(("label", "smiles", "hydrocarbon"), [
    ("benzylmagnesium chloride", "[CH2-]C1=CC=CC=C1.[Mg+2].[Cl-]", "Cc1ccccc1"),
    ("p-tolylmagnesium bromide", "CC1=CC=[C-]C=C1.[Mg+2].[Br-]", "Cc1ccccc1"),
    ("benzylsodium", "[CH2-]C1=CC=CC=C1.[Na+]", "Cc1ccccc1"),
    ("sodium cyclopentadienide", "[cH-]1cccc1.[Na+]", "C1=CCC=C1"),
])
def test_a_carbanion_is_not_made_into_its_hydrocarbon(label: str, smiles: str,
                                                      hydrocarbon: str) -> None:
    st = from_smiles(smiles)
    assert st.skeleton_key != _key(hydrocarbon).split("-")[0], label
    assert not st.neutralised
