"""Verdicts on salts, hydrates and mixtures of real substances, both sides.

Caught: a listed base whatever its counter-acid, potassium permanganate in either order, the
listed acids themselves. Left alone: the salts of hydrochloric and sulphuric acid (UN 1988
Convention, note to Table II: "The salts of hydrochloric acid and sulphuric acid are
specifically excluded from Table II"), the permanganates other than potassium permanganate (only
that salt is listed), organometallics.
"""

from __future__ import annotations

import datetime as dt
from itertools import permutations

import pytest

from precursorwatch.detect.check import Checker

TODAY = dt.date(2026, 11, 23)
CITRIC = "OC(=O)CC(O)(CC(=O)O)C(=O)O"


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker.default()


# (what it is, identifier, listed substance it must be controlled as)
CAUGHT = [
    ("piperidine citrate", f"C1CCNCC1.{CITRIC}", "piperidine"),
    ("piperidine citrate, acid first", f"{CITRIC}.C1CCNCC1", "piperidine"),
    ("ephedrine citrate", f"CN[C@@H](C)[C@H](O)c1ccccc1.{CITRIC}", "ephedrine"),
    ("norephedrine citrate", f"CC(N)C(O)c1ccccc1.{CITRIC}", "norephedrine"),
    ("4-piperidone tosylate", "O=C1CCNCC1.Cc1ccc(S(=O)(=O)O)cc1", "4-piperidone"),
    ("4-piperidone tosylate, acid first", "Cc1ccc(S(=O)(=O)O)cc1.O=C1CCNCC1", "4-piperidone"),
    ("4-piperidone HCl monohydrate", "O.Cl.O=C1CCNCC1", "4-piperidone"),
    ("fentanyl citrate", f"{CITRIC}.CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1", "fentanyl"),
    ("potassium permanganate", "[K+].[O-][Mn](=O)(=O)=O", "potassium permanganate"),
    ("potassium permanganate, anion first", "[O-][Mn](=O)(=O)=O.[K+]",
     "potassium permanganate"),
    ("potassium permanganate by name", "potassium permanganate", "potassium permanganate"),
    ("hydrochloric acid", "Cl", "hydrochloric acid"),
    ("hydrochloric acid, aqueous", "Cl.O", "hydrochloric acid"),
    ("hydrochloric acid by name", "hydrochloric acid", "hydrochloric acid"),
    ("sulphuric acid", "OS(=O)(=O)O", "sulphuric acid"),
    ("sulphuric acid by name", "sulphuric acid", "sulphuric acid"),
    ("4-AP with a rare, bigger counter-acid (pamoate)",
     "OC(=O)c1cc2ccccc2c(Cc2c(O)c(C(=O)O)cc3ccccc23)c1O.c1ccc(NC2CCNCC2)cc1", "4-AP"),
    ("phenylacetic acid as its dicyclohexylamine salt",
     "OC(=O)Cc1ccccc1.C1CCC(NC2CCCCC2)CC1", "phenylacetic acid"),
    ("a methylamine salt of a phenol", "Cc1cc([N+](=O)[O-])cc([N+](=O)[O-])c1O.CN",
     "methylamine"),
]

# A listed part of a mixture, a polymer written as its monomers, or a metal complex written in
# pieces is not the listed substance: `watch`, naming it, never `controlled`.
MIXTURES = [
    ("acetone in a mixture with a bigger solvent", "CC(C)=O.CCCCCCCCCCCC", "acetone"),
    ("adipic acid, polymer with 1,4-butanediol", "O=C(O)CCCCC(=O)O.OCCCCO", "1,4-butanediol"),
    ("benzyl alcohol, toluene copolymer", "OCc1ccccc1.Cc1ccccc1", "toluene"),
]


def test_a_listed_part_of_a_mixture_is_a_watch_not_the_listed_substance(
        checker: Checker) -> None:
    verdicts = checker.check_batch([c[1] for c in MIXTURES], as_of=TODAY)
    for (label, _, substance), v in zip(MIXTURES, verdicts, strict=True):
        assert v.verdict == "watch", (label, v)
        assert any(m.substance == substance and "mixture" in m.explanation
                   for m in v.matches), (label, v.matches)


def test_listed_substances_in_salts_and_mixtures_are_caught(checker: Checker) -> None:
    verdicts = checker.check_batch([c[1] for c in CAUGHT], as_of=TODAY)
    for (label, _, substance), v in zip(CAUGHT, verdicts, strict=True):
        assert v.verdict == "controlled", (label, v)
        names = {m.substance for m in v.matches}
        assert any(substance.lower() in n.lower() for n in names), (label, names)


# (what it is, identifier)
LEFT_ALONE = [
    ("sodium chloride", "[Na+].[Cl-]"),
    ("sodium chloride, anion first", "[Cl-].[Na+]"),
    ("sodium chloride by name", "sodium chloride"),
    ("potassium chloride", "[K+].[Cl-]"),
    ("potassium chloride by name", "potassium chloride"),
    ("ammonium chloride", "[NH4+].[Cl-]"),
    ("ammonium chloride by name", "ammonium chloride"),
    ("strontium dichloride", "[Cl-].[Cl-].[Sr+2]"),
    ("strontium dichloride by name", "strontium dichloride"),
    ("sodium sulfate", "[O-]S(=O)(=O)[O-].[Na+].[Na+]"),
    ("sodium sulfate by name", "sodium sulfate"),
    ("calcium sulfate dihydrate", "O.O.[Ca+2].[O-]S([O-])(=O)=O"),
    ("ferrocene", "[cH-]1cccc1.[cH-]1cccc1.[Fe+2]"),
    ("ferrocene by name", "ferrocene"),
    ("lithium hexafluorophosphate", "[Li+].F[P-](F)(F)(F)(F)F"),
    ("lithium hexafluorophosphate by name", "lithium hexafluorophosphate"),
    ("tropylium", "c1cc[cH+]ccc1"),
    ("benzylmagnesium chloride, not toluene", "[CH2-]C1=CC=CC=C1.[Mg+2].[Cl-]"),
    ("p-tolylmagnesium bromide, not toluene", "CC1=CC=[C-]C=C1.[Mg+2].[Br-]"),
    ("sodium citrate", "[Na+].[Na+].[Na+].[O-]C(=O)CC(O)(CC(=O)[O-])C(=O)[O-]"),
]


def test_salts_of_the_listed_acids_and_organometallics_are_left_alone(
        checker: Checker) -> None:
    verdicts = checker.check_batch([c[1] for c in LEFT_ALONE], as_of=TODAY)
    for (label, _), v in zip(LEFT_ALONE, verdicts, strict=True):
        assert v.verdict == "clear", (label, v)
        assert not v.matches, (label, v.matches)


OTHER_PERMANGANATES = [
    ("sodium permanganate", "[Na+].[O-][Mn](=O)(=O)=O"),
    ("sodium permanganate, anion first", "[O-][Mn](=O)(=O)=O.[Na+]"),
    ("sodium permanganate by name", "sodium permanganate"),
    ("calcium permanganate", "[Ca+2].[O-][Mn](=O)(=O)=O.[O-][Mn](=O)(=O)=O"),
    ("calcium permanganate by name", "calcium permanganate"),
    ("zinc permanganate", "[Zn+2].[O-][Mn](=O)(=O)=O.[O-][Mn](=O)(=O)=O"),
    ("zinc permanganate by name", "zinc permanganate"),
]


def test_other_permanganates_are_never_potassium_permanganate(checker: Checker) -> None:
    """Only the potassium salt matches the potassium permanganate listings. Another
    permanganate is controlled only where a list names that salt itself (US List II names
    sodium permanganate), on the basis of its own identity; otherwise it is clear."""
    verdicts = checker.check_batch([c[1] for c in OTHER_PERMANGANATES], as_of=TODAY)
    for (label, _), v in zip(OTHER_PERMANGANATES, verdicts, strict=True):
        assert v.verdict in ("clear", "controlled"), (label, v)
        assert all(m.substance != "potassium permanganate" for m in v.matches), (label, v)
        for m in v.matches:
            assert m.basis == "identity" and m.substance == label.split(",")[0].removesuffix(
                " by name"), (label, m)
    calcium, zinc = (v for (label, _), v in zip(OTHER_PERMANGANATES, verdicts, strict=True)
                     if label in ("calcium permanganate", "zinc permanganate"))
    assert calcium.verdict == zinc.verdict == "clear"


@pytest.mark.parametrize("salt", [
    "[Na+].[Cl-]", "[NH4+].[Cl-]", "[Sr+2].[Cl-].[Cl-]", "[K+].[O-][Mn](=O)(=O)=O",
    f"CC(N)C(O)c1ccccc1.{CITRIC}", "O=C1CCNCC1.Cl.O",
])
def test_the_order_of_fragments_never_changes_the_verdict(checker: Checker, salt: str) -> None:
    orders = sorted({".".join(p) for p in permutations(salt.split("."))})
    verdicts = checker.check_batch(orders, as_of=TODAY)
    assert len({(v.verdict, v.inchikey, tuple(v.notes)) for v in verdicts}) == 1, verdicts


def test_each_salt_reports_its_own_removed_fragments(checker: Checker) -> None:
    # Same parent, different counter-ions: the second must not reuse the first's evidence.
    first, second = checker.check_batch(
        ["C1CCNCC1.Cl", f"C1CCNCC1.{CITRIC}"], as_of=TODAY)
    assert first.inchikey == second.inchikey
    assert "standardised to the parent: removed hydrochloride" in first.notes
    assert "standardised to the parent: removed citrate" in second.notes
    assert all("hydrochloride" not in m.explanation for m in second.matches)
    assert any("citrate" in m.explanation for m in second.matches)


def test_vanadium_then_strontium_chloride_each_report_themselves(checker: Checker) -> None:
    vanadium, strontium = checker.check_batch(
        ["[Cl-].[Cl-].[V+2]", "strontium dichloride"], as_of=TODAY)
    assert vanadium.verdict == strontium.verdict == "clear"
    assert "Sr" in (strontium.smiles or "")
    assert not any("V+2" in n or "vanadium" in n for n in strontium.notes), strontium.notes


def test_the_evidence_of_a_salt_of_a_listed_base_names_the_counter_acid(
        checker: Checker) -> None:
    v = checker.check(f"{CITRIC}.CC(N)C(O)c1ccccc1", as_of=TODAY)
    assert v.verdict == "controlled"
    assert "standardised to the parent: removed citrate" in v.notes
    assert all(m.basis == "salt" for m in v.matches if m.substance == "norephedrine")


def test_the_hydrochloric_acid_listing_is_not_matched_by_any_chloride(checker: Checker) -> None:
    chlorides = ["[Cl-].[Cs+].[Cs+]", "[Cl-].[Cl-].[K+].[K+]", "[Cl-].[Eu]", "[Cl-].[Cl-].[Tb]",
                 "[O-]S(=O)(=O)[O-].[Co+2]", "[O-]S(=O)(=O)[O-].[K+].[K+]", "NN.OS(=O)(=O)O",
                 "[O-]S(=O)(=O)[O-].[Pd+2]", "Cl.[Na]", "O.O=[N+]([O-])O.[Cd]"]
    for v in checker.check_batch(chlorides, as_of=TODAY):
        assert v.verdict == "clear", v
