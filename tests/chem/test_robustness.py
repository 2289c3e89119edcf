"""No identifier ever crashes a batch, and no inorganic salt passes for a listed acid.

Random text, random SMILES-like strings, every identifier of the bundled vocabulary and a fixed
sample of the PubChem-derived table of the `chemicals` package go through
`Checker.check_batch`: each gets a verdict, and none is an internal error. (The whole table is
scanned by benchmarks/pubchem_scan_bench.py.)
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from itertools import permutations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdkit import Chem

from precursorwatch.chem.resolve import Resolution
from precursorwatch.chem.structure import Structure, StructureError, from_smiles, to_mol
from precursorwatch.controls.load import load_controls
from precursorwatch.detect.check import Checker, common_chemicals
from precursorwatch.detect.verdict import Verdict

TODAY = dt.date(2026, 11, 23)
SAMPLE_SIZE = 2000
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@cache
def fast_checker() -> Checker:
    """The bundled lists without OPSIN: random strings need no Java start per example."""
    return Checker(load_controls(), use_opsin=False)


def _assert_sound(inputs: list[str], verdicts: list[Verdict]) -> None:
    assert [v.input for v in verdicts] == inputs
    for v in verdicts:
        assert "internal error" not in (v.reason or ""), v
        if v.verdict == "unresolved":
            assert v.reason, v


@SETTINGS
@given(st.lists(st.text(max_size=80), max_size=6))
def test_random_text_never_crashes_a_batch(texts: list[str]) -> None:
    _assert_sound(texts, fast_checker().check_batch(texts, as_of=TODAY))


# Pieces of real SMILES, odd ions and metals included, joined at random.
TOKENS = ["C", "c", "N", "n", "O", "o", "S", "s", "P", "F", "Cl", "Br", "I", "B", "1", "2", "3",
          "%10", "(", ")", "=", "#", ".", "/", "\\", "[nH]", "[cH-]", "[cH+]", "[CH-]", "[C-]",
          "[O-]", "[O+]", "[N+]", "[NH4+]", "[NH2+]", "[Na+]", "[K+]", "[Li+]", "[Ca+2]",
          "[Fe+2]", "[Fe]", "[Mn]", "[Sr+2]", "[Zn+2]", "[P-]", "[B-]", "[H+]", "[H]", "[Pt]",
          "[C@@H]", "[C@H]", "[Cl-]", "[2H]", "[13C]", "*", "[Na]", "[Mg]", "[Si]", "[Se]",
          "c1ccccc1", "c1cccc1", "C1CCNCC1", "O=C1CCNCC1", "[O-][Mn](=O)(=O)=O", "C#O"]
SMILES_LIKE = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=14).map("".join)


@SETTINGS
@given(SMILES_LIKE)
def test_random_smiles_give_a_structure_or_a_reason(text: str) -> None:
    try:
        structure = from_smiles(text)
    except StructureError as exc:
        assert str(exc)
    else:
        to_mol(structure)  # what was written reads back
        for part in structure.components:
            assert from_smiles(part.smiles).inchikey == part.inchikey
    _assert_sound([text], fast_checker().check_batch([text], as_of=TODAY))


# Real fragments: organic bases and acids, counter-ions, metals, solvent.
FRAGMENTS = ["C1CCNCC1", "CC(N)C(O)c1ccccc1", "O=C1CCNCC1", "OC(=O)CC(O)(CC(=O)O)C(=O)O",
             "Cc1ccc(S(=O)(=O)O)cc1", "Cl", "[Cl-]", "O", "[Na+]", "[K+]", "[NH4+]", "[Ca+2]",
             "OS(=O)(=O)O", "[O-]S(=O)(=O)[O-]", "[O-][Mn](=O)(=O)=O", "CC(=O)O", "CCO",
             "[cH-]1cccc1", "[Fe+2]", "F[P-](F)(F)(F)(F)F", "CC(C)=O", "Cc1ccccc1",
             "NCCc1ccccc1", "[NH3+]CCc1ccccc1", "C[C@H](N)Cc1ccccc1", "C[C@@H](N)Cc1ccccc1"]


@SETTINGS
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=2, max_size=4))
def test_the_order_of_fragments_never_matters(frags: list[str]) -> None:
    results = set()
    for order in set(permutations(frags)):
        try:
            results.add(from_smiles(".".join(order)))
        except StructureError as exc:
            results.add(("error", str(exc).split(":")[0]))  # type: ignore[arg-type]
    assert len(results) == 1, results


def _bundled_identifiers() -> list[str]:
    out: set[str] = set()
    for s in load_controls().substances:
        out.update((s.name, s.smiles, s.systematic_name, *s.cas, *s.synonyms, *s.abbreviations))
        out.update(x for f in s.salt_forms for x in (f.name, f.smiles, f.cas))
    for e in common_chemicals():
        out.update((e.name, e.smiles, *e.cas, *e.synonyms, *e.abbreviations))
    out.discard("")
    return sorted(out)


def test_every_bundled_identifier_gets_a_verdict() -> None:
    identifiers = _bundled_identifiers()
    assert len(identifiers) > 500
    verdicts = Checker.default().check_batch(identifiers, as_of=TODAY)
    _assert_sound(identifiers, verdicts)
    listed = {s.smiles for s in load_controls().substances}
    for v in verdicts:
        if v.input in listed:
            assert v.verdict != "unresolved", v


@cache
def _pubchem_rows() -> list[tuple[str, str]]:
    """(common name, SMILES) of every row of the chemicals package's PubChem-derived table."""
    table = files("chemicals") / "Identifiers" / "chemical identifiers pubchem large.tsv"
    rows = []
    for line in table.read_text("utf-8").splitlines():
        cols = line.split("\t")
        if len(cols) > 8 and cols[4]:
            rows.append((cols[8], cols[4]))
    return rows


def _acid_only(smiles: str, acid: str) -> bool:
    """The input is that acid alone, maybe with water or protons."""
    target = Chem.MolToSmiles(Chem.MolFromSmiles(acid))
    mol = Chem.MolFromSmiles(smiles)
    frags = {Chem.MolToSmiles(f) for f in Chem.GetMolFrags(mol, asMols=True)} - {"O", "[H+]"}
    return frags == {target}


def test_a_sample_of_pubchem_never_crashes_and_no_salt_passes_for_its_acid() -> None:
    rows = _pubchem_rows()
    assert len(rows) > 70_000
    sample = random.Random(1988).sample(rows, SAMPLE_SIZE)
    smiles = [s for _, s in sample]
    verdicts = fast_checker().check_batch(smiles, as_of=TODAY)
    _assert_sound(smiles, verdicts)
    inorganic_salts = 0
    for (name, given_smiles), v in zip(sample, verdicts, strict=True):
        subs = {m.substance for m in v.matches}
        if "hydrochloric acid" in subs:
            assert _acid_only(given_smiles, "Cl"), (name, given_smiles)
        if "sulphuric acid" in subs:
            assert _acid_only(given_smiles, "OS(=O)(=O)O"), (name, given_smiles)
        if "potassium permanganate" in subs:
            assert "K" in given_smiles and "Mn" in given_smiles, (name, given_smiles)
        mol = Chem.MolFromSmiles(given_smiles)
        if mol is not None and len(Chem.GetMolFrags(mol)) > 1 and not any(
                a.GetAtomicNum() == 6 for a in mol.GetAtoms()):
            inorganic_salts += 1
            assert v.verdict != "controlled" or v.matches[0].basis == "identity", (name, v)
    assert inorganic_salts > 20  # the sample holds inorganic salts to test on


ODD_NAMES = ["ferrocene", "lithium hexafluorophosphate", "tropylium tetrafluoroborate",
             "sodium cyclopentadienide", "nickel tetracarbonyl", "potassium chloride",
             "bis(indenyl)iron", "cobaltocene", "uranocene"]


def test_names_of_odd_structures_get_a_verdict() -> None:
    verdicts = Checker.default().check_batch(ODD_NAMES, as_of=TODAY)
    _assert_sound(ODD_NAMES, verdicts)
    assert all(v.verdict in ("clear", "unresolved") for v in verdicts), verdicts


class _FailingParser:
    """A name parser that fails on one name, as a broken converter would."""

    def __init__(self, bad: str) -> None:
        self.bad = bad

    def __call__(self, names: Sequence[str]) -> list[str | None]:
        if self.bad in names:
            raise RuntimeError(f"converter failed on {self.bad!r}")
        return [None] * len(names)


def test_one_identifier_failing_in_resolution_leaves_the_batch_whole() -> None:
    checker = Checker(load_controls(), name_parser=_FailingParser("glorbic acid"))
    batch = ["acetone", "frobnicated imine", "glorbic acid", "O=C1CCN(CCc2ccccc2)CC1",
             "[Na+].[Cl-]"]
    acetone, unknown, bad, npp, salt = checker.check_batch(batch, as_of=TODAY)
    assert acetone.verdict == npp.verdict == "controlled"
    assert salt.verdict == "clear"
    assert unknown.verdict == "unresolved" and "internal error" not in (unknown.reason or "")
    assert bad.verdict == "unresolved"
    assert bad.reason == ("internal error while checking: RuntimeError: converter failed on "
                          "'glorbic acid'")


def test_one_structure_failing_in_the_decision_leaves_the_batch_whole() -> None:
    checker = fast_checker()
    broken = Resolution(input="c1cccc1 (built by hand)", resolved_by="smiles",
                        structure=Structure(smiles="c1cccc1", inchikey="X-Y-Z", formula="C5H5"))
    v = checker._verdict(broken, TODAY, None, 1)
    assert v.verdict == "unresolved"
    assert v.reason is not None and v.reason.startswith("internal error while checking (c1cccc1)")
