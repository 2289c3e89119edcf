"""Finding chemical mentions in goods descriptions (finding only; the Checker identifies)."""

from __future__ import annotations

import pytest

from precursorwatch.screen.mentions import find_mentions

CASES = [
    ("4-Piperidone HCl H2O 99% white powder 1kg",
     ["4-Piperidone HCl H2O", "4-Piperidone HCl", "4-Piperidone"], []),
    ("N-(1-Phenethyl-4-piperidyl)propionanilide",
     ["N-(1-Phenethyl-4-piperidyl)propionanilide"], []),
    ("CAS 40064-34-4 pharma intermediate", ["40064-34-4"], []),
    ("BOC-4-AP 25KG/DRUM", ["BOC-4-AP"], []),
    ("CAS No. 79099-07-3, tert-butyl 4-oxopiperidine-1-carboxylate 98% min",
     ["79099-07-3", "tert-butyl 4-oxopiperidine-1-carboxylate", "tert-butyl",
      "4-oxopiperidine-1-carboxylate"], []),
    ("Norfentanyl CAS 1609-66-5", ["Norfentanyl"], ["1609-66-5"]),
    ("Glycerol 99.7% USP, IBC", ["Glycerol"], []),
    ("Acetone; toluene / xylene", ["Acetone", "toluene", "xylene"], []),
]


@pytest.mark.parametrize(("description", "names", "bad"), CASES)
def test_candidates(description: str, names: list[str], bad: list[str]) -> None:
    found = find_mentions(description)
    assert [m.text for m in found.candidates] == names
    assert list(found.bad_cas) == bad


def test_salt_words_never_start_a_candidate() -> None:
    texts = [m.text for m in find_mentions("4-AP dihydrochloride").candidates]
    assert "dihydrochloride" not in texts
    assert texts[0] == "4-AP dihydrochloride"


def test_sub_phrases_carry_positions_for_overlap_checks() -> None:
    found = find_mentions("tert-butyl 4-oxopiperidine-1-carboxylate")
    spans = {m.text: (m.segment, m.start, m.end) for m in found.candidates}
    assert spans["tert-butyl 4-oxopiperidine-1-carboxylate"] == (1, 0, 2)
    assert spans["4-oxopiperidine-1-carboxylate"] == (1, 1, 2)
