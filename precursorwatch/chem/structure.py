"""Parse and standardise structures with RDKit.

A `Structure` is always the standardised *parent*: salts, water and other counter-ions are
stripped, charges neutralised. What was stripped is kept so the evidence can say "salt" or
"hydrate" without recomputing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from rdkit import Chem, RDLogger
from rdkit.Chem import rdMolDescriptors
from rdkit.Chem.MolStandardize import rdMolStandardize

# RDKit writes parse warnings to stderr; the reasons are returned as data instead.
RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]

# Fragments that are counter-ions or solvent of crystallisation, by canonical SMILES -> word.
_FRAGMENT_WORDS: dict[str, str] = {
    "O": "water",
    "Cl": "hydrochloride",
    "Br": "hydrobromide",
    "I": "hydroiodide",
    "F": "hydrofluoride",
    "O=S(=O)(O)O": "sulfate",
    "O=P(O)(O)O": "phosphate",
    "O=[N+]([O-])O": "nitrate",
    "O=C(O)C(=O)O": "oxalate",
    "O=C(O)CC(O)(CC(=O)O)C(=O)O": "citrate",
    "O=C(O)C(O)C(O)C(=O)O": "tartrate",
    "O=C(O)/C=C\\C(=O)O": "maleate",
    "O=C(O)/C=C/C(=O)O": "fumarate",
    "O=C(O)CCC(=O)O": "succinate",
    "CC(=O)O": "acetate",
    "O=C(O)C(F)(F)F": "trifluoroacetate",
    "CS(=O)(=O)O": "mesylate",
    "Cc1ccc(S(=O)(=O)O)cc1": "tosylate",
    "[Na]": "sodium",
    "[K]": "potassium",
    "CCO": "ethanol",
    "CO": "methanol",
}


class StructureError(ValueError):
    """A structure could not be parsed; the message is the reason, for the user."""


@dataclass(frozen=True, slots=True)
class Structure:
    """A standardised parent structure and what was removed to reach it."""

    smiles: str  # canonical SMILES of the parent, stereo kept
    inchikey: str  # InChIKey of the parent
    formula: str
    # words for removed fragments, e.g. "hydrochloride"
    stripped: tuple[str, ...] = field(default=())
    neutralised: bool = False

    @property
    def skeleton_key(self) -> str:
        """First InChIKey block: connectivity only, so stereoisomers share it."""
        return self.inchikey.split("-")[0]

    @property
    def is_salt_or_hydrate(self) -> bool:
        return bool(self.stripped) or self.neutralised


_uncharger = rdMolStandardize.Uncharger()


def _fragment_word(frag: Chem.Mol) -> str:
    smi = Chem.MolToSmiles(frag)
    return _FRAGMENT_WORDS.get(smi, smi)


def standardise(mol: Chem.Mol) -> Structure:
    """Standardise a parsed molecule to its parent: largest organic fragment, neutral.

    The parent is the fragment with the most heavy atoms (ties: the one with carbon);
    every other fragment is recorded by name ("hydrochloride", "water", ...).
    """
    frags = list(Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=True))
    if not frags:
        raise StructureError("empty structure")

    def rank(f: Chem.Mol) -> tuple[int, int]:
        has_carbon = any(a.GetAtomicNum() == 6 for a in f.GetAtoms())
        return (int(has_carbon), f.GetNumHeavyAtoms())

    frags.sort(key=rank, reverse=True)
    parent, others = frags[0], frags[1:]
    stripped = tuple(sorted({_fragment_word(f) for f in others}))
    before = Chem.MolToSmiles(parent)
    parent = _uncharger.uncharge(parent)
    smiles = Chem.MolToSmiles(parent)
    inchikey = Chem.MolToInchiKey(parent)
    if not inchikey:
        raise StructureError(f"no InChIKey could be computed for {smiles}")
    formula = rdMolDescriptors.CalcMolFormula(parent)
    return Structure(
        smiles=smiles,
        inchikey=inchikey,
        formula=formula,
        stripped=stripped,
        neutralised=smiles != before,
    )


@lru_cache(maxsize=200_000)
def from_smiles(smiles: str) -> Structure:
    """Parse SMILES and standardise; raise StructureError with the reason on failure."""
    text = smiles.strip()
    if not text:
        raise StructureError("empty SMILES")
    mol = Chem.MolFromSmiles(text)
    if mol is None:
        raise StructureError(f"unparsable SMILES: {text[:80]!r}")
    return standardise(mol)


@lru_cache(maxsize=50_000)
def from_inchi(inchi: str) -> Structure:
    """Parse an InChI string and standardise; raise StructureError on failure."""
    mol = Chem.MolFromInchi(inchi.strip(), sanitize=True, removeHs=True)
    if mol is None:
        raise StructureError(f"unparsable InChI: {inchi[:80]!r}")
    return standardise(mol)


def to_mol(structure: Structure) -> Chem.Mol:
    """The RDKit molecule of a standardised parent (always parses: it came from RDKit)."""
    mol = Chem.MolFromSmiles(structure.smiles)
    assert mol is not None, structure.smiles
    return mol
