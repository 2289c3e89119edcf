"""Typo matching that can be trusted, on real chemical names.

The matcher is built over real names: every PubChem name (from the `chemicals` package table)
of the compounds whose names share a stem with the cases below, plus the bundled listed
substances and everyday chemicals. A substance is the first block of its InChIKey.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from precursorwatch.chem.cas import looks_like_cas
from precursorwatch.chem.names import (
    FuzzyMatcher,
    NameEntry,
    SynonymIndex,
    chemical_edit,
    name_key,
)
from precursorwatch.chem.structure import from_smiles
from precursorwatch.controls.load import load_controls
from precursorwatch.detect.check import Checker, common_chemicals, control_entries

STEMS = ("piperid", "piperin", "ephedr", "fentan", "butan", "buten", "anthranil", "nitranil",
         "safrol", "piperon", "phenylacet", "ethylbenzene")


def _pubchem_pairs() -> list[tuple[str, str]]:
    import chemicals

    path = Path(os.path.dirname(chemicals.__file__)) / "Identifiers" / (
        "chemical identifiers pubchem large.tsv")
    pairs = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not any(stem in line for stem in STEMS):
                continue
            cols = line.rstrip("\n").split("\t")
            block = cols[6].split("-")[0]
            pairs += [(name_key(n), block) for n in cols[7:] if n and not looks_like_cas(n)]
    return pairs


def _bundled() -> list[NameEntry]:
    return [*control_entries(load_controls()), *common_chemicals()]


@pytest.fixture(scope="module")
def listed_blocks() -> dict[str, str]:
    """Connectivity block -> ref of each listed substance."""
    return {from_smiles(e.smiles).inchikey.split("-")[0]: e.ref
            for e in _bundled() if e.context == "precursor"}


@pytest.fixture(scope="module")
def matcher() -> FuzzyMatcher:
    pairs = _pubchem_pairs()
    for entry in _bundled():
        block = from_smiles(entry.smiles).inchikey.split("-")[0]
        pairs += [(name_key(n), block) for n in entry.all_names()]
    return FuzzyMatcher(pairs)


def _block_of(listed_blocks: dict[str, str], ref: str) -> str:
    return next(b for b, r in listed_blocks.items() if r == ref)


@pytest.mark.parametrize(
    ("typo", "ref"),
    [
        ("N-phenethyl-4-piperidnone", "listed:npp"),
        ("N-phenethyl-4-pipridone", "listed:npp"),
        ("norfentanil", "listed:norfentanyl"),
        ("pseudoephedrin", "listed:pseudoephedrine"),
        ("pseudoephedirne hydrochloride", "listed:pseudoephedrine"),
        ("fentanly", "listed:fentanyl"),
        ("4-anilinopiperdine", "listed:4-ap"),
        ("phenylacetic aicd", "listed:phenylacetic-acid"),
    ],
)
def test_typos_of_listed_names_are_corrected(matcher: FuzzyMatcher, listed_blocks: dict[str, str],
                                             typo: str, ref: str) -> None:
    found = matcher.match(typo)
    assert found is not None, typo
    assert _block_of(listed_blocks, ref) in found.substances
    assert 0 < found.score < 100 and found.margin >= matcher.margin
    assert "edit" in found.note and f"{found.score:.0f}/100" in found.note


@pytest.mark.parametrize(
    "name", ["piperine", "ephedrone", "butantrone", "nitranilic acid", "2-piperidone",
             "butenone", "ethylbenzene"],
)
def test_real_names_are_never_corrected(matcher: FuzzyMatcher, name: str) -> None:
    assert name_key(name) in matcher  # a real chemical, in the real vocabulary
    assert matcher.match(name) is None


@pytest.mark.parametrize(
    ("name", "nearest_listed"),
    [
        ("piperine", "piperidine"),
        ("ephedrone", "ephedrine"),
        ("butantrone", "butanone"),
        ("nitranilic acid", "anthranilic acid"),
        ("butenone", "butanone"),
        ("ethylbenzene", "methylbenzene"),
        ("diphenylacetonitrile", "phenylacetonitrile"),
    ],
)
def test_real_names_missing_from_the_vocabulary_are_not_turned_into_listed_ones(
        matcher: FuzzyMatcher, name: str, nearest_listed: str) -> None:
    """As if the vocabulary lacked the name: leave its own substance out."""
    own = matcher.substances(name_key(name))
    assert own  # it is a real chemical
    assert nearest_listed  # the listed name a careless matcher would give
    assert matcher.match(name, exclude=own) is None


@pytest.mark.parametrize("name", ["3-piperidone", "piperidin-3-one", "3-piperidnone",
                                  "N-phenethyl-3-piperidone"])
def test_three_piperidone_is_not_four_piperidone(matcher: FuzzyMatcher,
                                                 listed_blocks: dict[str, str], name: str) -> None:
    found = matcher.match(name)
    assert found is None or _block_of(listed_blocks, "listed:4-piperidone") not in found.substances
    assert found is None or _block_of(listed_blocks, "listed:npp") not in found.substances


def test_nearest_name_of_another_substance_must_be_clearly_further() -> None:
    # Two substances one edit apart: a typo halfway between them is not guessed.
    matcher = FuzzyMatcher([("phenylacetone", "A"), ("phenylacetate", "B")])
    assert matcher.match_key("phenylacetome") is not None  # 1 edit from A, 2 from B
    assert matcher.match_key("phenylacetote") is None  # 1 edit from each


def test_synonyms_of_one_substance_do_not_compete() -> None:
    matcher = FuzzyMatcher([("fentanyl", "F"), ("fentanil", "F"), ("phentanyl", "F")])
    found = matcher.match_key("fentanly")
    assert found is not None and found.key == "fentanyl" and found.runner_up is None


def test_locants_must_agree() -> None:
    matcher = FuzzyMatcher([("4piperidone", "P4"), ("3piperidone", "P3")])
    assert matcher.match_key("5piperidone") is None
    found = matcher.match_key("4piperidnoe")
    assert found is not None and found.key == "4piperidone"


@pytest.mark.parametrize(
    ("query", "known", "deliberate"),
    [
        ("butenone", "butanone", True), ("ephedrone", "ephedrine", True),
        ("ethylbenzene", "methylbenzene", True), ("piperine", "piperidine", True),
        ("pseudoephedrin", "pseudoephedrine", False), ("norfentanil", "norfentanyl", False),
        ("nphenethyl4piperidnone", "nphenethyl4piperidone", False),
    ],
)
def test_chemical_edits_are_told_from_typos(query: str, known: str, deliberate: bool) -> None:
    assert chemical_edit(query, known) is deliberate


def test_synonym_index_fuzzy_uses_the_whole_vocabulary(matcher: FuzzyMatcher) -> None:
    index = SynonymIndex(_bundled())
    hit = index.fuzzy("N-phenethyl-4-piperidnone", matcher=matcher)
    assert hit is not None and hit.entry.ref == "listed:npp"
    assert hit.score is not None and hit.fuzzy is not None and "edit" in hit.note
    # Without the vocabulary the index alone would read piperine as piperidine; with it, not.
    assert index.fuzzy("piperine", matcher=matcher) is None


# -- end to end: needs the general vocabulary in the Checker (precursorwatch.chem.vocabulary) ---
@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker.default()


@pytest.mark.parametrize("typo", ["N-phenethyl-4-piperidnone", "norfentanil", "pseudoephedrin"])
def test_checker_corrects_typos_of_listed_names(checker: Checker, typo: str) -> None:
    verdict = checker.check(typo)
    assert verdict.verdict == "controlled", verdict
    assert verdict.resolved_by == "fuzzy"


@pytest.mark.parametrize("name", ["piperine", "ephedrone", "butantrone", "nitranilic acid",
                                  "3-piperidone"])
def test_checker_leaves_real_chemicals_alone(checker: Checker, name: str) -> None:
    verdict = checker.check(name)
    assert verdict.resolved_by != "fuzzy", verdict
    assert verdict.verdict != "controlled", verdict
