import pytest

from precursorwatch.chem.structure import StructureError, from_inchi, from_smiles


def test_salt_and_water_are_stripped_and_named() -> None:
    st = from_smiles("O=C1CCNCC1.Cl.O")
    assert st.smiles == from_smiles("O=C1CCNCC1").smiles
    assert st.stripped == ("hydrochloride", "water")
    assert st.is_salt_or_hydrate


def test_charged_salt_is_neutralised() -> None:
    st = from_smiles("O=C1CC[NH2+]CC1.[Cl-]")
    assert st.inchikey == from_smiles("O=C1CCNCC1").inchikey
    assert st.is_salt_or_hydrate


def test_stereoisomers_share_the_skeleton_key_only() -> None:
    a = from_smiles("C[C@H](N)Cc1ccccc1")
    b = from_smiles("C[C@@H](N)Cc1ccccc1")
    assert a.inchikey != b.inchikey
    assert a.skeleton_key == b.skeleton_key


def test_inchi_round_trip() -> None:
    st = from_inchi("InChI=1S/C13H17NO/c15-13-7-10-14(11-8-13)9-6-12-4-2-1-3-5-12/h1-5H,6-11H2")
    assert st.inchikey == from_smiles("O=C1CCN(CCc2ccccc2)CC1").inchikey


@pytest.mark.parametrize("bad", ["C1CC", "c1ccccc", "Xx", "C(C)(C)(C)(C)C"])
def test_unparsable_smiles_says_why(bad: str) -> None:
    with pytest.raises(StructureError, match="unparsable SMILES"):
        from_smiles(bad)
