"""Parse and standardise structures with RDKit.

A `Structure` is the standardised *parent*: counter-ions, water and other solvent of
crystallisation stripped, charges neutralised. What was stripped is kept so the evidence can say
"salt" or "hydrate" without recomputing.

How the parent is chosen, whatever the order or size of the fragments:

1. Alkali and alkaline-earth metals bonded to O, N, S or a halogen are disconnected to ions
   (``CC(=O)O[Na]`` is sodium acetate), then the structure is split into fragments.
2. Each fragment is classed by its neutral canonical structure: a proton; a solvent (water,
   methanol, ethanol, propan-2-ol); a common organic counter-acid (citric, tartaric, tosic, ...);
   organic; or inorganic (no carbon, or carbonate, cyanide and other inorganic carbon).
3. The parent is an organic fragment that is not a common counter-acid: a fragment with nitrogen
   before one without (in a salt the listed drug or precursor is nearly always the amine), then
   the most heavy atoms. Every other such organic fragment is kept in `alternatives`, so a listed
   substance in a mixture or in a salt with an unusual counter-acid is still found.
4. Without such a fragment, a common organic counter-acid is the parent (sodium citrate is a salt
   of citric acid).
5. Without any organic fragment, an inorganic structure of one kind of fragment is that substance
   (``Cl.O`` is aqueous hydrochloric acid), while an inorganic salt (``[Na+].[Cl-]``,
   ``[K+].[O-][Mn](=O)(=O)=O``) is the salt itself, never its acid: the 1988 Convention lists
   hydrochloric and sulphuric acid but excludes their salts, and lists potassium permanganate,
   not every permanganate.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from rdkit import Chem, RDLogger
from rdkit.Chem import rdMolDescriptors
from rdkit.Chem.MolStandardize import rdMolStandardize

# RDKit writes parse warnings to stderr; the reasons are returned as data instead.
RDLogger.DisableLog("rdApp.*")  # type: ignore[attr-defined]

# Solvents of crystallisation: stripped whenever anything else is there.
_SOLVENTS: dict[str, str] = {
    "O": "water",
    "CO": "methanol",
    "CCO": "ethanol",
    "CC(C)O": "propan-2-ol",
}
# Common organic counter-acids of drug salts (as the neutral acid): never the parent of a salt
# with another organic fragment, whatever their size.
_ORGANIC_COUNTER_ACIDS: dict[str, str] = {
    "OC(=O)C(=O)O": "oxalate",
    "OC(=O)CC(O)(CC(=O)O)C(=O)O": "citrate",
    "OC(=O)C(O)C(O)C(=O)O": "tartrate",
    r"OC(=O)/C=C\C(=O)O": "maleate",
    "OC(=O)/C=C/C(=O)O": "fumarate",
    "OC(=O)CCC(=O)O": "succinate",
    "OC(=O)C(O)CC(=O)O": "malate",
    "CC(O)C(=O)O": "lactate",
    "CC(=O)O": "acetate",
    "OC=O": "formate",
    "OC(=O)C(F)(F)F": "trifluoroacetate",
    "CS(=O)(=O)O": "mesylate",
    "CCS(=O)(=O)O": "esylate",
    "Cc1ccc(S(=O)(=O)O)cc1": "tosylate",
    "OS(=O)(=O)c1ccccc1": "besylate",
    "CC1(C)C2CCC1(CS(=O)(=O)O)C(=O)C2": "camsylate",
    "OC(=O)c1ccccc1": "benzoate",
    "OCC(O)C(O)C(O)C(O)C(=O)O": "gluconate",
}
# Inorganic fragments, by their neutral form; metal ions are named from the periodic table.
_INORGANIC_WORDS: dict[str, str] = {
    "Cl": "hydrochloride",
    "Br": "hydrobromide",
    "I": "hydroiodide",
    "F": "hydrofluoride",
    "OS(=O)(=O)O": "sulfate",
    "OP(=O)(O)O": "phosphate",
    "O[N+](=O)[O-]": "nitrate",
    "OCl(=O)(=O)=O": "perchlorate",
    "F[B-](F)(F)F": "tetrafluoroborate",
    "F[P-](F)(F)(F)(F)F": "hexafluorophosphate",
    "N": "ammonium",
    "OC(=O)O": "carbonate",
    "C#N": "cyanide",
}
# Carbon compounds that chemistry counts as inorganic: an all-inorganic salt stays the salt.
_INORGANIC_CARBON = ("OC(=O)O", "C#N", "[C-]#N", "[C-]#[O+]", "O=C=O", "N#CS", "N#CO", "S=C=S",
                     "[C-]#[C-]")

_uncharger = rdMolStandardize.Uncharger()
# Only the ionic metals: a permanganate or a chromate must keep its metal-oxygen bonds.
_IONIC_METAL_BOND = "[Li,Na,K,Rb,Cs,Mg,Ca,Sr,Ba]~[#7,#8,#9,#16,#17,#35,#53]"
# Salts are nearly always written ionic ("[Na+].[Cl-]"): only a bond to disconnect costs the copy.
_IONIC_METAL = Chem.MolFromSmarts(_IONIC_METAL_BOND)
_disconnector = rdMolStandardize.MetalDisconnector()
_disconnector.SetMetalNof(Chem.MolFromSmarts(_IONIC_METAL_BOND))
_disconnector.SetMetalNon(Chem.MolFromSmarts(_IONIC_METAL_BOND))
_PERIODIC_TABLE = Chem.GetPeriodicTable()
_CARBON = Chem.MolFromSmarts("[#6]")
_CHARGED_CARBON = Chem.MolFromSmarts("[#6;!+0]")
_CHARGED = Chem.MolFromSmarts("[!+0]")
_NITROGEN = Chem.MolFromSmarts("[#7]")


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
    # Other fragments that could be the parent (a mixture, or a salt of two organic parts
    # neither of which is a common counter-acid), each standardised on its own. Detection
    # checks them too, so a listed substance among the fragments is found.
    alternatives: tuple[Structure, ...] = field(default=())
    # How `to_mol` makes the parent's molecule again, exactly as the verdict saw it (not part of
    # equality or hashing): a piece of a salt is kept as Mol.ToBinary; a molecule RDKit read
    # from a SMILES and left unchanged is read again from `source`, the text it was read from
    # (no binary to write for most inputs); any other was read back from `smiles` itself.
    mol_binary: bytes = field(default=b"", compare=False, repr=False)
    source: str = field(default="", compare=False, repr=False)

    @property
    def skeleton_key(self) -> str:
        """First InChIKey block: connectivity only, so stereoisomers share it."""
        return self.inchikey.split("-")[0]

    @property
    def written_from_parent(self) -> bool:
        """`smiles` was written from the very molecule `to_mol` gives, not read back into
        another: every atom of that molecule is in it as RDKit writes it (aromatic ones in
        lower case), so a pattern needing an element absent from it cannot match."""
        return bool(self.source or self.mol_binary)

    @property
    def is_salt_or_hydrate(self) -> bool:
        return bool(self.stripped) or self.neutralised

    @property
    def components(self) -> tuple[Structure, ...]:
        """The parent, then every alternative parent: what detection checks."""
        return (self, *self.alternatives)


FragmentKind = Literal["proton", "solvent", "counter-acid", "organic", "inorganic"]


@dataclass(frozen=True, slots=True)
class _Fragment:
    mol: Chem.Mol  # as given (charges kept), sanitised
    key: str  # canonical SMILES of the neutral form, without stereo
    neutral: str  # canonical SMILES of the neutral form, with stereo
    kind: FragmentKind
    word: str  # how the evidence names it when stripped
    given: str  # canonical SMILES as given (charges kept), with stereo
    charged: bool
    # the neutral form's molecule when made here (None: uncharged, or classed by its SMILES)
    neutral_mol: Chem.Mol | None = None
    source: str = ""  # the SMILES text `mol` was read from, when it was read on its own


def _canonical(smiles: str) -> str:
    mol = Chem.MolFromSmiles(smiles)
    assert mol is not None, smiles  # module constants, checked by the tests on import
    return Chem.MolToSmiles(mol, isomericSmiles=False)


def _canonical_table(table: dict[str, str]) -> dict[str, str]:
    return {_canonical(smiles): word for smiles, word in table.items()}


_SOLVENT_WORDS = _canonical_table(_SOLVENTS)
_COUNTER_ACID_WORDS = _canonical_table(_ORGANIC_COUNTER_ACIDS)
_INORGANIC_WORDS_BY_KEY = _canonical_table(_INORGANIC_WORDS)
_INORGANIC_CARBON_KEYS = frozenset(_canonical(s) for s in _INORGANIC_CARBON)
# The most atoms of any fragment in the tables above.
_MAX_TABLE_ATOMS = max(
    Chem.MolFromSmiles(k).GetNumAtoms()
    for table in (_SOLVENT_WORDS, _COUNTER_ACID_WORDS, _INORGANIC_WORDS_BY_KEY)
    for k in (*table, *_INORGANIC_CARBON_KEYS)
)
# Words that depend on stereo (maleate and fumarate share a constitution).
_STEREO_WORDS = {
    Chem.MolToSmiles(Chem.MolFromSmiles(s)): word
    for s, word in _ORGANIC_COUNTER_ACIDS.items() if "/" in s or "\\" in s
}


def _neutral(frag: Chem.Mol) -> Chem.Mol:
    """The fragment with charges neutralised where a hydrogen can be added or removed.

    A charged carbon is left as it is: the carbanion of an organometallic or the tropylium ion
    with a proton added or removed is another substance (benzylmagnesium chloride is not a salt
    of toluene)."""
    if frag.HasSubstructMatch(_CHARGED_CARBON):
        return frag
    try:
        return _uncharger.uncharge(frag)
    except (ValueError, RuntimeError):
        return frag


def _element_word(frag: Chem.Mol) -> str | None:
    """"sodium", "strontium": the name of a lone metal atom or ion."""
    if frag.GetNumAtoms() != 1:
        return None
    atom = frag.GetAtomWithIdx(0)
    if atom.GetAtomicNum() in (1, 6, 7, 8, 9, 15, 16, 17, 35, 53):
        return None
    try:
        return str(_PERIODIC_TABLE.GetElementName(atom.GetAtomicNum())).lower()
    except (AttributeError, RuntimeError):
        return None


# How small fragments were classed, by canonical SMILES: counter-ions and solvents recur in
# salt after salt.
_SMALL_FRAGMENTS: dict[str, tuple[str, str, FragmentKind, str, bool]] = {}
_SMALL_FRAGMENTS_MAX = 20_000
# The same, with the canonical SMILES, by the text a part was read from on its own ("Cl",
# "[Na+]"): the same text is the same molecule, so its SMILES need not be written again.
_SMALL_PARTS: dict[str, tuple[str, str, str, FragmentKind, str, bool]] = {}


def _classify(frag: Chem.Mol, source: str = "") -> _Fragment:
    """`source`: the SMILES text `frag` was read from on its own, if it was."""
    part = _SMALL_PARTS.get(source) if source else None
    if part is not None:
        given, key, neutral, kind, word, charged = part
        return _Fragment(frag, key, neutral, kind, word, given, charged, source=source)
    given = Chem.MolToSmiles(frag)
    # Every table below holds small fragments only: a larger one (the drug or precursor of a
    # salt, mostly) is in none of them, so its key is not written and its kind not kept.
    small = frag.GetNumAtoms() <= _MAX_TABLE_ATOMS
    known = _SMALL_FRAGMENTS.get(given) if small else None
    if known is not None:
        key, neutral, kind, word, charged = known
        if source and len(_SMALL_PARTS) < _SMALL_FRAGMENTS_MAX:
            _SMALL_PARTS[source] = (given, *known)
        return _Fragment(frag, key, neutral, kind, word, given, charged, source=source)
    charged = frag.HasSubstructMatch(_CHARGED)
    # An uncharged fragment is its own neutral form: one SMILES serves as both.
    neutral_mol = _neutral(frag) if charged else frag
    neutral = Chem.MolToSmiles(neutral_mol) if charged else given
    key = Chem.MolToSmiles(neutral_mol, isomericSmiles=False) if small else ""
    kind, word = _kind(frag, key, neutral, given)
    if small and len(_SMALL_FRAGMENTS) < _SMALL_FRAGMENTS_MAX:
        _SMALL_FRAGMENTS[given] = (key, neutral, kind, word, charged)
    return _Fragment(frag, key, neutral, kind, word, given, charged,
                     neutral_mol if charged else None, source)


def _kind(frag: Chem.Mol, key: str, neutral: str, given: str) -> tuple[FragmentKind, str]:
    """What a fragment is, and the word for it when stripped."""
    if frag.GetNumAtoms() == 1:
        atom = frag.GetAtomWithIdx(0)
        if atom.GetAtomicNum() == 1 and atom.GetFormalCharge() > 0:
            return "proton", "proton"
    if key in _SOLVENT_WORDS:
        return "solvent", _SOLVENT_WORDS[key]
    if key in _COUNTER_ACID_WORDS:
        return "counter-acid", _STEREO_WORDS.get(neutral, _COUNTER_ACID_WORDS[key])
    if frag.HasSubstructMatch(_CARBON) and key not in _INORGANIC_CARBON_KEYS:
        return "organic", given
    return "inorganic", _INORGANIC_WORDS_BY_KEY.get(key) or _element_word(frag) or given


def _parent_rank(f: _Fragment) -> tuple[int, int, str]:
    """Sort key, best parent first: nitrogen, then size; the SMILES breaks ties (order-free)."""
    has_n = f.mol.HasSubstructMatch(_NITROGEN)
    return (-int(has_n), -f.mol.GetNumHeavyAtoms(), f.neutral)


def _finish(mol: Chem.Mol, *, neutralise: bool,
            stripped: tuple[str, ...] = (),
            alternatives: tuple[Structure, ...] = (),
            given: str | None = None, parsed: bool = False,
            charged: bool | None = None,
            neutral_form: tuple[Chem.Mol, str] | None = None,
            source: str = "") -> Structure:
    """A Structure of one parent molecule: neutral when that can be written and read back,
    else as given. Raises StructureError when no SMILES or InChIKey can be had.

    RDKit can write a SMILES it cannot read back (an uncharged cyclopentadienide is "c1cccc1"),
    so a SMILES of a molecule standardisation changed is read once before it is trusted.
    `parsed`: `mol` is as RDKit read it from a SMILES (or a fragment of that), unchanged; its
    own SMILES is trusted without reading it back (RDKit reads back the SMILES it writes for
    every molecule and fragment of the general vocabulary, about 124,000) and `mol` is kept.
    `charged`, `neutral_form`: whether `mol` has a charged atom, and its neutral form with
    that form's SMILES, where already known. `source`: the SMILES text `mol` was read from,
    when `parsed` and `mol` is the whole of it."""
    given = given if given is not None else Chem.MolToSmiles(mol)  # `given`: already written
    tries = [(mol, given)]
    # Without a charged atom there is nothing to neutralise (most inputs): skip the uncharger.
    if neutralise and (charged if charged is not None else mol.HasSubstructMatch(_CHARGED)):
        if neutral_form is None:
            uncharged = _neutral(mol)
            neutral_form = (uncharged, Chem.MolToSmiles(uncharged))
        neutral, neutral_smiles = neutral_form
        if neutral_smiles != given:
            tries.insert(0, (neutral, neutral_smiles))
    readable = None
    for candidate, smi in tries:
        read_back = mol if (candidate is mol and parsed) else Chem.MolFromSmiles(smi)
        if read_back is not None:
            readable = (candidate, smi, read_back)
            break
    if readable is None:
        raise StructureError(f"RDKit cannot read back its own SMILES for {given[:80]!r}")
    parent, smiles, read_back = readable
    # Kept for `to_mol`: the text the parent was read from, else nothing (it was read from
    # `smiles`), else (a piece of a molecule) its binary.
    as_read = read_back is mol
    kept_source = source if as_read else ""
    binary = read_back.ToBinary() if as_read and not kept_source else b""
    inchikey = Chem.MolToInchiKey(parent)
    if not inchikey:
        raise StructureError(f"no InChIKey could be computed for {smiles[:80]}")
    return _remember(Structure(
        smiles=smiles,
        inchikey=inchikey,
        formula=rdMolDescriptors.CalcMolFormula(parent),
        stripped=stripped,
        neutralised=smiles != given,
        alternatives=alternatives,
        mol_binary=binary,
        source=kept_source,
    ), read_back)


def _words(frags: Iterable[_Fragment]) -> tuple[str, ...]:
    return tuple(sorted({f.word for f in frags if f.kind != "proton"}))


def _distinct(frags: Iterable[_Fragment]) -> list[_Fragment]:
    """One fragment per neutral structure with stereo (two ephedrines of a sulfate are one)."""
    seen: dict[str, _Fragment] = {}
    for f in sorted(frags, key=lambda f: (f.neutral, f.given)):
        seen.setdefault(f.neutral, f)  # the same one whatever the order given
    return list(seen.values())


def _from_candidates(pool: list[_Fragment], frags: list[_Fragment], *,
                     parsed: bool) -> Structure:
    """The first candidate that standardises is the parent, the others its alternatives.
    `parsed`: the fragments are pieces of a molecule as RDKit read it (see `_finish`)."""
    pool = sorted(_distinct(pool), key=_parent_rank)
    finished: list[tuple[_Fragment, Structure]] = []
    first_error: StructureError | None = None
    for f in pool:
        try:
            neutral_form = (f.neutral_mol, f.neutral) if f.neutral_mol is not None else None
            finished.append((f, _finish(f.mol, neutralise=True, given=f.given, parsed=parsed,
                                        charged=f.charged, neutral_form=neutral_form,
                                        source=f.source)))
        except StructureError as exc:
            first_error = first_error or exc
    if not finished:
        assert first_error is not None
        raise first_error
    chosen, parent = finished[0]
    others = [f for f in frags if f.neutral != chosen.neutral]
    alternatives = tuple(s for _, s in finished[1:] if s.inchikey != parent.inchikey)
    whole = _remember(Structure(
        smiles=parent.smiles, inchikey=parent.inchikey, formula=parent.formula,
        stripped=_words(others), neutralised=parent.neutralised, alternatives=alternatives,
        mol_binary=parent.mol_binary, source=parent.source,
    ), parent_mol(parent))
    for _, part in finished:  # only the whole is decided on: the parts' molecules can go
        release_mol(part)
    return whole


def _combine(frags: list[_Fragment]) -> Chem.Mol:
    mol = frags[0].mol
    for f in frags[1:]:
        mol = Chem.CombineMols(mol, f.mol)
    return mol


def _standardise(mol: Chem.Mol, *, sanitised: bool = False,
                 parsed: bool = False, connected: bool = False,
                 bracketed: bool = True, source: str = "") -> Structure:
    """`parsed`: `mol` is as RDKit's SMILES parser returned it (see `_finish`) from `source`;
    `connected`: it is known to be one fragment (a SMILES without a dot); `bracketed`: it may
    have atoms outside SMILES's organic subset or charges (False: a SMILES without a bracket
    atom)."""
    if bracketed and mol.HasSubstructMatch(_IONIC_METAL):
        mol = _disconnector.Disconnect(mol)
        sanitised = parsed = False
    if mol.GetNumAtoms() == 0:
        raise StructureError("empty structure")
    # A sanitised molecule of one fragment (most inputs) is its own only piece: copying and
    # sanitising it again would cost more than the parse.
    if sanitised and (connected or len(Chem.GetMolFrags(mol)) == 1):
        return _finish(mol, neutralise=True, parsed=parsed, charged=None if bracketed else False,
                       source=source if parsed else "")
    # The pieces of a sanitised molecule keep its atoms' and bonds' perceived state (valence,
    # aromaticity, hybridisation, conjugation): only their rings are to be found again, as
    # sanitising would, at half the cost of sanitising each piece.
    pieces = list(Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=not sanitised))
    if sanitised:
        for piece in pieces:
            Chem.GetSymmSSSR(piece)
    if not pieces:
        raise StructureError("empty structure")
    if len(pieces) == 1:
        return _finish(pieces[0], neutralise=True, parsed=parsed)
    return _from_fragments([_classify(p) for p in pieces], parsed=parsed)


def _from_fragments(frags: list[_Fragment], *, parsed: bool) -> Structure:
    """The parent of two or more classed fragments (rules 3 to 5 of the module's docstring)."""
    organic = [f for f in frags if f.kind == "organic"]
    if organic:
        return _from_candidates(organic, frags, parsed=parsed)
    acids = [f for f in frags if f.kind == "counter-acid"]
    if acids:
        return _from_candidates(acids, frags, parsed=parsed)
    core = [f for f in frags if f.kind == "inorganic"]
    solvents = [f for f in frags if f.kind == "solvent"]
    if not core:
        if not solvents:
            raise StructureError("no structure besides protons")
        return _from_candidates(solvents, frags, parsed=parsed)
    if len(_distinct(core)) == 1:
        return _from_candidates(core, frags, parsed=parsed)
    # An inorganic salt is itself: its fragments, sorted so their order never matters.
    core.sort(key=lambda f: f.given)
    return _finish(_combine(core), neutralise=False, stripped=_words(solvents))


def standardise(mol: Chem.Mol, *, sanitised: bool = False) -> Structure:
    """Standardise a parsed molecule to its parent (see the module's docstring for the rules).

    Raises StructureError, with the reason, for anything RDKit cannot standardise: an
    organometallic or an odd aromatic ion never raises anything else. `sanitised`: the
    molecule is fully sanitised already (as RDKit's parsers return it), so a single fragment
    is not copied and sanitised again.
    """
    try:
        return _standardise(mol, sanitised=sanitised)
    except StructureError:
        raise
    except Exception as exc:  # RDKit raises many types on odd valences and aromaticity
        raise StructureError(_cannot_standardise(exc)) from None


def _cannot_standardise(exc: Exception) -> str:
    first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
    return f"cannot standardise the structure: {first}"


def _from_pieces(text: str) -> Structure | None:
    """The parent of a SMILES of several parts ("CCN.Cl"), each part read on its own: the
    molecule RDKit reads from the whole is these parts side by side (a ring bond across a dot
    leaves a part unreadable), and reading them costs less than splitting that molecule into
    copies of its fragments. None where the whole must be read instead: a part that does not
    read, a metal bonded to disconnect, or anything else out of the ordinary."""
    parts = text.split(".")
    if len(parts) < 2 or not all(parts) or not text.isascii() or not _PLAIN.isdisjoint(text):
        return None
    try:
        mols = [Chem.MolFromSmiles(part) for part in parts]
        if any(m is None or m.GetNumAtoms() == 0 for m in mols):
            return None
        pairs = list(zip(parts, mols, strict=True))
        if any("[" in part and m.HasSubstructMatch(_IONIC_METAL) for part, m in pairs):
            return None
        for m in mols:  # as a fragment split from the whole has them: its rings, no more
            m.ClearComputedProps(includeRings=False)
        return _from_fragments([_classify(m, part) for part, m in pairs], parsed=True)
    except Exception:  # the whole is read instead, and says why
        return None


# Text read part by part only when it is plain SMILES: no spaces (CXSMILES extensions, a name
# after the SMILES) or reaction arrows.
_PLAIN = frozenset(" \t\n\r\x0b\x0c>|")


@lru_cache(maxsize=200_000)
def from_smiles(smiles: str) -> Structure:
    """Parse SMILES and standardise; raise StructureError with the reason on failure."""
    text = smiles.strip()
    if not text:
        raise StructureError("empty SMILES")
    if "." in text:
        found = _from_pieces(text)
        if found is not None:
            return found
    try:
        mol = Chem.MolFromSmiles(text)
    except Exception:  # the parser raises on a few malformed inputs instead of returning None
        mol = None
    if mol is None:
        raise StructureError(f"unparsable SMILES: {text[:80]!r}")
    try:
        return _standardise(mol, sanitised=True, parsed=True, connected="." not in text,
                            bracketed="[" in text, source=text)
    except StructureError:
        raise
    except Exception as exc:  # as `standardise` does
        raise StructureError(_cannot_standardise(exc)) from None


@lru_cache(maxsize=50_000)
def from_inchi(inchi: str) -> Structure:
    """Parse an InChI string and standardise; raise StructureError on failure."""
    try:
        mol = Chem.MolFromInchi(inchi.strip(), sanitize=True, removeHs=True)
    except Exception:
        mol = None
    if mol is None:
        raise StructureError(f"unparsable InChI: {inchi[:80]!r}")
    return standardise(mol)


# The molecules of the structures made last, by object: a caller that decides on a structure
# right after it was made (`parent_mol`) uses the molecule standardisation made instead of
# restoring it from `mol_binary`. A few hundred: enough for a batch's naming step, small next
# to the structure cache (an RDKit molecule takes some ten kilobytes).
_RECENT_MOLS: dict[int, tuple[Structure, Chem.Mol]] = {}
_RECENT_MAX = 512
_recent_lock = threading.Lock()


def _remember(structure: Structure, mol: Chem.Mol) -> Structure:
    with _recent_lock:
        _RECENT_MOLS[id(structure)] = (structure, mol)  # the entry keeps the id taken
        if len(_RECENT_MOLS) > _RECENT_MAX:
            del _RECENT_MOLS[next(iter(_RECENT_MOLS))]
    return structure


def release_mol(structure: Structure) -> None:
    """Let go of the molecule kept for `parent_mol` once the caller is done with a new
    structure: freed at once, it is still in the processor's caches (freed hundreds of
    structures later, it costs as much again as a parse). `parent_mol` then restores it."""
    with _recent_lock:
        recent = _RECENT_MOLS.get(id(structure))
        if recent is not None and recent[0] is structure:
            del _RECENT_MOLS[id(structure)]


def parent_mol(structure: Structure) -> Chem.Mol:
    """The RDKit molecule of a standardised parent, shared: the caller must not change it.
    For a structure made a moment ago it is the molecule standardisation made (nothing is
    restored); otherwise as `to_mol`."""
    recent = _RECENT_MOLS.get(id(structure))
    if recent is not None and recent[0] is structure:
        return recent[1]
    return to_mol(structure)


def to_mol(structure: Structure) -> Chem.Mol:
    """The RDKit molecule of a standardised parent (a new object each call: the caller may
    change it): the very molecule standardisation decided on, restored from its binary or read
    again from the text it was read from (see `Structure.source`); a Structure built by hand
    is parsed, and raises StructureError if it cannot be."""
    if structure.mol_binary:
        return Chem.Mol(structure.mol_binary)  # type: ignore[call-overload]  # stubs say str
    mol = Chem.MolFromSmiles(structure.source or structure.smiles)
    if mol is None:
        raise StructureError(f"cannot read the parent SMILES {structure.smiles[:80]!r}")
    return mol
