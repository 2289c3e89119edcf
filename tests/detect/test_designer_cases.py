"""The case tables: masked, protected, halogenated and analogue structures must be caught with
the expected evidence; look-alike medicines and everyday piperidines must stay clear."""

from __future__ import annotations

import datetime as dt

import pytest
from cases_designer import CAUGHT, CLEAR
from designer_controls import small_controls

from precursorwatch.chem.structure import from_smiles
from precursorwatch.detect.designer import find_designer
from precursorwatch.detect.scan import Assessment, assess_structure
from precursorwatch.detect.verdict import Match

TODAY = dt.date(2026, 11, 23)


def label(match: Match) -> str:
    if match.basis == "transformation":
        assert match.steps
        return "transformation:" + " > ".join(s.transformation for s in match.steps)
    if match.basis == "class":
        return f"class:{match.rule}"
    if match.basis == "similarity":
        return f"similarity:{match.substance}"
    return f"{match.basis}:{match.substance}"


def evidence(smiles: str, jurisdictions: tuple[str, ...] | None, depth: int) -> tuple[
    Assessment, set[str]
]:
    structure = from_smiles(smiles)
    controls = small_controls()
    assessment = assess_structure(structure, controls, as_of=TODAY, jurisdictions=jurisdictions,
                                  depth=depth)
    labels = {label(m) for m in assessment.matches}
    # Routes are evidence even when the input is itself controlled (the verdict then says so).
    labels |= {label(m) for m in find_designer(structure, controls, as_of=TODAY,
                                               jurisdictions=jurisdictions, depth=depth)}
    return assessment, labels


def test_tables_are_big_enough() -> None:
    assert len(CAUGHT) >= 40
    assert len(CLEAR) >= 40
    assert len({c[1] for c in CLEAR}) == len(CLEAR)


@pytest.mark.parametrize(("name", "smiles", "expected", "jurisdictions", "depth"), CAUGHT,
                         ids=[c[0] for c in CAUGHT])
def test_caught_with_expected_evidence(name: str, smiles: str, expected: str,
                                       jurisdictions: tuple[str, ...] | None, depth: int) -> None:
    assessment, labels = evidence(smiles, jurisdictions, depth)
    assert assessment.verdict != "clear", name
    assert expected in labels, (name, labels)
    kind = expected.split(":")[0]
    if kind == "similarity":
        # Similarity is the last resort: watch, never designer or controlled.
        assert assessment.verdict == "watch"
    if kind == "class":
        assert assessment.verdict == "controlled"


@pytest.mark.parametrize(("name", "smiles"), CLEAR, ids=[c[0] for c in CLEAR])
@pytest.mark.parametrize("depth", [1, 2])
def test_look_alikes_stay_clear(name: str, smiles: str, depth: int) -> None:
    assessment, labels = evidence(smiles, None, depth)
    assert assessment.verdict == "clear", (name, [m.explanation for m in assessment.matches])
    assert labels == set()
