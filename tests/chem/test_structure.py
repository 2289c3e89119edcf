import pytest
from rdkit import Chem

from precursorwatch.chem.structure import (
    Structure,
    StructureError,
    from_inchi,
    from_smiles,
    to_mol,
)


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


# Organometallics, odd aromatic ions and inorganic salts that RDKit parses but whose neutral form
# it cannot write back (the uncharged cyclopentadienide is "c1cccc1").
ODD = [
    "[cH-]1cccc1.[cH-]1cccc1.[Fe+2]",  # ferrocene
    "[CH-]1C=CC2=CC=CC=C21.[CH-]1C=CC2=CC=CC=C21.[Fe+2]",  # bis(indenyl)iron
    "CC(C)[C-]1C=CC=C1.CC(C)[C-]1C=CC=C1.CC(C)[C-]1C=CC=C1.[Pr]",
    "[Li+].F[P-](F)(F)(F)(F)F",  # lithium hexafluorophosphate
    "c1cc[cH+]ccc1",  # tropylium
    "[B-](F)(F)(F)F.C1=CC=C[CH+]C=C1",  # tropylium tetrafluoroborate
    "[cH-]1cccc1.[Na+]",  # sodium cyclopentadienide
    "[C-]#[O+].[C-]#[O+].[C-]#[O+].[C-]#[O+].[Ni]",  # nickel tetracarbonyl
    "O=C=[Fe](=C=O)(=C=O)(=C=O)=C=O",  # iron pentacarbonyl, drawn with bonds
    "[Na+].[H-]",
    "[H+]",
    "*C(=O)O",
]


@pytest.mark.parametrize("smiles", ODD)
def test_odd_structures_give_a_structure_or_a_reason_never_a_crash(smiles: str) -> None:
    try:
        st = from_smiles(smiles)
    except StructureError as exc:
        assert str(exc)
        return
    mol = to_mol(st)  # what was written reads back
    assert mol.GetNumAtoms() > 0
    assert from_smiles(st.smiles).inchikey == st.inchikey


def test_ferrocene_keeps_the_cyclopentadienide_it_cannot_neutralise() -> None:
    st = from_smiles("[cH-]1cccc1.[cH-]1cccc1.[Fe+2]")
    assert st.smiles == "c1cc[cH-]c1"
    assert st.stripped == ("iron",)


def test_to_mol_of_an_unreadable_structure_is_a_structure_error() -> None:
    broken = Structure(smiles="c1cccc1", inchikey="X", formula="C5H5")
    with pytest.raises(StructureError, match="cannot read"):
        to_mol(broken)


def test_a_structure_with_no_inchikey_says_why() -> None:
    with pytest.raises(StructureError):
        from_smiles("[H+].[H+]")


@pytest.mark.parametrize(
    "smiles",
    ["C1CN(CCC1=O)CCc1ccccc1", "OC(=O)[C@@H](N)Cc1ccccc1", "Clc1ccc(cc1)C(=O)N",
     "C1CCNCC1.OC(=O)CC(O)(CC(=O)O)C(=O)O", "[Na+].[O-]C(=O)c1ccccc1", "CC[NH3+]",
     "O.O.Cl.O=C1CCNCC1"],
)
def test_any_spelling_of_a_structure_standardises_like_its_canonical_smiles(smiles: str) -> None:
    # A molecule kept as parsed (not read back from its canonical SMILES) gives the same
    # parent, and the kept molecule is that parent.
    given = from_smiles(smiles)
    canonical = from_smiles(Chem.MolToSmiles(Chem.MolFromSmiles(smiles)))
    assert given == canonical
    assert given.smiles == canonical.smiles and given.formula == canonical.formula
    mol = to_mol(given)
    assert Chem.MolToSmiles(mol) == given.smiles
    assert Chem.MolToInchiKey(mol) == given.inchikey


def test_a_large_counter_ion_is_classed_without_its_key() -> None:
    # A fragment larger than every tabled solvent and counter-acid is organic: the larger
    # part of a salt of two big organic parts is kept, the other stays an alternative.
    st = from_smiles("CCCCCCCCCCCCCCCCCC(=O)O.CN1CCC(CC1)c1ccccc1")
    assert st.smiles == "CN1CCC(c2ccccc2)CC1"
    assert [a.smiles for a in st.alternatives] == ["CCCCCCCCCCCCCCCCCC(=O)O"]
    assert st.stripped == ("CCCCCCCCCCCCCCCCCC(=O)O",)


def test_the_molecule_of_a_new_structure_is_shared_and_an_older_one_restored() -> None:
    from precursorwatch.chem.structure import parent_mol

    first = from_smiles("CCOC(=O)c1ccccc1N")
    assert parent_mol(first) is parent_mol(first)  # not restored each time
    assert Chem.MolToSmiles(parent_mol(first)) == first.smiles
    for k in range(1, 27):  # many structures later, it is restored from its binary
        for m in range(1, 27):
            from_smiles("C" * k + "O" + "C" * m)
    assert parent_mol(first) is not parent_mol(first)
    assert Chem.MolToSmiles(parent_mol(first)) == first.smiles
    assert to_mol(first) is not to_mol(first)


@pytest.mark.parametrize(
    ("smiles", "kept_as"),
    [("CCOC(=O)c1ccccc1N", "source"),  # read and left unchanged: read again from its text
     ("  C[NH3+]  ", "smiles"),  # neutralised: read back from its own SMILES
     ("O=C1CCNCC1.Cl", "part"),  # a part of a salt, read on its own: read again from its text
     ("C1CCC.C1.Cl", "binary"),  # a piece split from the whole (a bond across the dot)
     ("[Na+].[Cl-]", "smiles")],
)
def test_the_parent_molecule_is_made_again_exactly(smiles: str, kept_as: str) -> None:
    from precursorwatch.chem.structure import parent_mol

    st = from_smiles(smiles)
    decided_on = parent_mol(st)
    assert {"source": st.source == smiles.strip() and not st.mol_binary,
            "smiles": not st.source and not st.mol_binary,
            "binary": bool(st.mol_binary) and not st.source,
            "part": st.source == smiles.split(".")[0] and not st.mol_binary}[kept_as]
    assert st.written_from_parent == (kept_as != "smiles")
    again = to_mol(st)
    assert again is not decided_on
    assert again.ToBinary() == decided_on.ToBinary()


@pytest.mark.parametrize(
    "smiles",
    ["O=C1CCNCC1.Cl.O", "CN[C@@H](C)[C@H](O)c1ccccc1.OS(=O)(=O)O.CN[C@@H](C)[C@H](O)c1ccccc1",
     "C1=CC(=CC=C1N=C(N)/N=C(\\[NH3+])/N)[N+](=O)[O-].[Cl-]",  # stereo that neutralising voids
     "OC(=O)Cc1ccccc1.CNC", "[Na+].[Cl-]", "[K+].[O-][Mn](=O)(=O)=O", "C1CC1.C1CC1.C1CC1",
     "CCCCCCCCCCCCCCCC(=O)O.O=C1CCN(CCc2ccccc2)CC1", "[NH4+].[Cl-]", "Cl.O"],
)
def test_parts_read_on_their_own_standardise_as_the_whole_split(smiles: str) -> None:
    from precursorwatch.chem import structure

    whole = Chem.MolFromSmiles(smiles)
    split = structure._standardise(whole, sanitised=True, parsed=True, connected=False)
    parts = structure._from_pieces(smiles)
    assert parts is not None
    assert parts == split
    assert parts.smiles == split.smiles and parts.formula == split.formula
    assert [(a.smiles, a.inchikey) for a in parts.alternatives] == [
        (a.smiles, a.inchikey) for a in split.alternatives]
    assert Chem.MolToSmiles(to_mol(parts)) == Chem.MolToSmiles(to_mol(split))
