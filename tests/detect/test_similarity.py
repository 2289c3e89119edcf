"""Similarity to listed fentanyl precursors: watch only, with the nearest substance and score;
the threshold sits in the gap the case tables show."""

from __future__ import annotations

import datetime as dt

import pytest
from cases_designer import CAUGHT, CLEAR
from designer_controls import small_controls
from rdkit import DataStructs

from precursorwatch.chem.structure import from_smiles
from precursorwatch.detect.similarity import (
    DEFAULT_THRESHOLD,
    morgan_fingerprint,
    nearest_listed,
    reference_set,
)

TODAY = dt.date(2026, 11, 23)


def _best(smiles: str) -> float:
    refs = reference_set(small_controls())
    fp = morgan_fingerprint(from_smiles(smiles))
    return max(DataStructs.BulkTanimotoSimilarity(fp, [r.fingerprint for r in refs]))


def test_threshold_separates_the_case_tables() -> None:
    similar = [c[1] for c in CAUGHT if c[2].startswith("similarity:")]
    assert len(similar) >= 5
    lowest_caught = min(_best(s) for s in similar)
    highest_clear = max(_best(s) for _, s in CLEAR)
    assert highest_clear < DEFAULT_THRESHOLD <= lowest_caught, (highest_clear, lowest_caught)


def test_nearest_listed_is_a_watch_with_score() -> None:
    match = nearest_listed(from_smiles("O=C1CCN(CCc2ccc(F)cc2)CC1"), small_controls(),
                           as_of=TODAY)
    assert match is not None
    assert (match.basis, match.effect, match.substance) == ("similarity", "watch", "NPP")
    assert match.score is not None and DEFAULT_THRESHOLD <= match.score < 1.0
    assert "Tanimoto" in match.explanation and "NPP" in match.explanation
    assert match.jurisdiction == "UN" and match.since == "2017-10-18"


def test_nothing_near_gives_none_and_threshold_is_checked() -> None:
    controls = small_controls()
    assert nearest_listed(from_smiles("CCO"), controls) is None
    assert nearest_listed(from_smiles("OC(=O)C1CCNCC1"), controls) is None
    assert nearest_listed(from_smiles("OC(=O)C1CCNCC1"), controls, threshold=0.3) is not None
    with pytest.raises(ValueError, match="threshold"):
        nearest_listed(from_smiles("CCO"), controls, threshold=0)


def test_only_listings_in_force_for_the_jurisdiction_count() -> None:
    structure = from_smiles("O=C1CCN(CCc2ccc(F)cc2)CC1")
    # Before any fentanyl precursor was listed anywhere, there is nothing to be near.
    assert nearest_listed(structure, small_controls(), as_of=dt.date(2000, 1, 1)) is None
    us = nearest_listed(structure, small_controls(), as_of=TODAY, jurisdictions=["US"])
    assert us is not None and us.jurisdiction == "US"
