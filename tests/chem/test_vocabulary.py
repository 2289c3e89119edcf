"""The general vocabulary (the PubChem-derived table of the `chemicals` package) on real data:
everyday CAS numbers and names resolve, listed substances and their salts are still found
under the table's numbers and names, OPSIN is overruled where it misreads a name the table
knows, and the on-disk index is rebuilt, never trusted, when it is stale or damaged."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from precursorwatch.chem import vocabulary as vocab_module
from precursorwatch.chem.resolve import Resolver
from precursorwatch.chem.structure import from_smiles
from precursorwatch.chem.vocabulary import (
    SOURCE_LABEL,
    Vocabulary,
    default_sources,
    default_vocabulary,
    read_table,
)
from precursorwatch.detect.check import Checker

ON = "2026-11-23"


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker.default()


def _small_table() -> Path:
    found = [p for p in default_sources() if p.name == "chemical identifiers pubchem small.tsv"]
    assert found, "the chemicals package ships its small PubChem table"
    return found[0]


@pytest.mark.parametrize(
    ("cas", "name", "smiles"),
    [
        ("7647-14-5", "sodium chloride", None),
        ("64-17-5", "ethanol", "CCO"),
        ("50-78-2", "aspirin", "CC(=O)Oc1ccccc1C(=O)O"),
        ("58-08-2", "caffeine", "Cn1c(=O)c2c(ncn2C)n(C)c1=O"),
        ("108-95-2", "phenol", "Oc1ccccc1"),
    ],
)
def test_everyday_cas_numbers_resolve_and_stay_clear(checker: Checker, cas: str, name: str,
                                                     smiles: str | None) -> None:
    v = checker.check(cas)
    assert v.resolved_by == "cas", v.reason
    assert v.cas == cas
    assert v.name is not None and name in v.name.lower()
    if smiles is not None:
        assert v.inchikey == from_smiles(smiles).inchikey
    assert v.verdict not in {"controlled", "designer"}


def test_a_cas_number_from_the_table_says_where_it_came_from(checker: Checker) -> None:
    v = checker.check("108-95-2")  # phenol: not among the built-in chemicals
    assert any(SOURCE_LABEL in n and "CAS 108-95-2" in n for n in v.notes), v.notes


def test_fentanyl_by_its_cas_number_is_controlled(checker: Checker) -> None:
    v = checker.check("437-38-7")
    assert v.verdict == "controlled"
    assert v.name == "fentanyl"
    assert {m.basis for m in v.matches} == {"identity"}


@pytest.mark.parametrize(
    ("cas", "parent", "counter_ion"),
    [
        ("345-78-8", "pseudoephedrine", "hydrochloride"),  # the table's own record of the salt
        ("990-73-8", "fentanyl", "citrate"),
    ],
)
def test_a_listed_salt_by_its_cas_number_is_controlled_as_a_salt(
        checker: Checker, cas: str, parent: str, counter_ion: str) -> None:
    v = checker.check(cas)
    assert v.verdict == "controlled"
    assert v.matches and all(m.basis == "salt" for m in v.matches if m.substance == parent)
    assert v.name is not None and parent in v.name and counter_ion in v.name


def test_a_salt_number_given_only_among_the_synonyms_still_finds_the_substance(
        checker: Checker) -> None:
    # 50-98-6 (ephedrine hydrochloride) is written among ephedrine's synonyms in the table;
    # the table does not say which form it is, and the notes say so.
    v = checker.check("50-98-6")
    assert v.verdict == "controlled"
    assert v.name == "ephedrine"
    assert any("among the synonyms of ephedrine" in n for n in v.notes), v.notes


def test_a_brand_name_from_the_table_resolves_to_the_listed_substance(checker: Checker) -> None:
    v = checker.check("Duragesic")  # a fentanyl brand, only in the table
    assert v.verdict == "controlled"
    assert v.name == "fentanyl"
    assert any(SOURCE_LABEL in n for n in v.notes)


def test_listed_names_win_over_the_table(checker: Checker) -> None:
    # The table reads "4-AP" in its own way; the listed abbreviation wins (precursor context).
    v = checker.check("4-AP")
    assert v.name == "4-anilinopiperidine"
    assert v.verdict == "controlled"


def test_listed_names_win_over_the_table_in_every_spelling(checker: Checker) -> None:
    # The table reads "NPP" as 4-nitrophenyl phosphate; among the parts of a joined name the
    # listed reading comes first.
    v = checker.check("NPP; N-phenethyl-4-piperidone")
    assert v.name == "N-phenethyl-4-piperidone"
    assert v.verdict == "controlled"


def test_other_spellings_of_a_table_name_are_found(checker: Checker) -> None:
    v = checker.check("Phenol, USP grade")  # a register tag and grade set aside
    assert v.resolved_by == "synonym"
    assert v.inchikey == from_smiles("Oc1ccccc1").inchikey


def test_an_inchikey_of_the_table_resolves(checker: Checker) -> None:
    key = from_smiles("CC(=O)Oc1ccccc1C(=O)O").inchikey
    v = checker.check(key)
    assert v.resolved_by == "inchikey"
    assert v.name == "aspirin"


def test_a_smiles_of_a_table_compound_gets_its_name_and_cas(checker: Checker) -> None:
    v = checker.check("Oc1ccccc1")
    assert v.resolved_by == "smiles"
    assert v.name == "phenol" and v.cas == "108-95-2"


def test_an_exact_table_name_is_never_a_typo_of_a_listed_one(checker: Checker) -> None:
    # "piperidone" differs from the listed "piperidine" by one letter but is a name of its own.
    v = checker.check("2-piperidone")
    assert v.resolved_by == "synonym"
    assert v.inchikey == from_smiles("O=C1CCCCN1").inchikey


def test_a_typo_of_a_table_name_is_read_as_that_name(checker: Checker) -> None:
    v = checker.check("acetaminophne")
    assert v.resolved_by == "fuzzy"
    assert v.inchikey == from_smiles("CC(=O)Nc1ccc(O)cc1").inchikey
    assert v.verdict == "clear"


# -- OPSIN's second opinion ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def cross_checking() -> Resolver:
    return Resolver([], vocabulary=default_vocabulary(), cross_check=True)


@pytest.mark.parametrize(
    "name",
    ["dihydroxyacetone", "thymol chloride", "4,4'-biphenyldiisocyanate", "sarcosine anhydride",
     "dibenzoyl-L-tartaric acid"],
)
def test_where_opsin_misreads_a_name_the_table_knows_the_table_wins(
        cross_checking: Resolver, name: str) -> None:
    res = cross_checking.resolve(name)
    table = default_vocabulary().by_name(name)
    assert table is not None
    assert res.structure is not None
    assert res.structure.skeleton_key == from_smiles(table.entry.smiles).skeleton_key
    assert any(n.startswith("OPSIN read") and n.endswith("used") for n in res.notes), res.notes


def test_where_opsin_agrees_nothing_is_said(cross_checking: Resolver) -> None:
    res = cross_checking.resolve("1,3-dihydroxypropan-2-one")
    assert res.structure is not None
    assert not any(n.startswith("OPSIN read") for n in res.notes)


def test_names_the_table_knows_do_not_start_opsin_by_default() -> None:
    calls: list[list[str]] = []

    def parser(names: object) -> list[str | None]:
        assert isinstance(names, list)
        calls.append(names)
        return [None] * len(names)

    res = Resolver([], vocabulary=default_vocabulary(), name_parser=parser).resolve("phenol")
    assert res.resolved_by == "synonym"
    assert calls == []


# -- the index on disk ----------------------------------------------------------------------------
def test_the_index_is_built_once_and_reused(tmp_path: Path) -> None:
    first = Vocabulary(tmp_path, sources=[_small_table()])
    assert first.by_cas("64-17-5") is not None
    assert first.built
    second = Vocabulary(tmp_path, sources=[_small_table()])
    hit = second.by_cas("64-17-5")
    assert hit is not None and hit.entry.name == "ethanol"
    assert not second.built


def test_the_index_is_rebuilt_when_the_version_key_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = Vocabulary(tmp_path, sources=[_small_table()])
    assert old.by_cas("64-17-5") is not None
    old_path = old.path
    monkeypatch.setattr(vocab_module, "normaliser_version", lambda: "changed")
    new = Vocabulary(tmp_path, sources=[_small_table()])
    assert new.path != old_path
    assert new.by_cas("64-17-5") is not None
    assert new.built
    assert not old_path.exists()  # stale indexes are removed


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "other-version"])
def test_a_damaged_index_is_rebuilt_not_trusted(tmp_path: Path, damage: str) -> None:
    good = Vocabulary(tmp_path, sources=[_small_table()])
    assert good.by_cas("64-17-5") is not None
    good.close()
    path = good.path
    if damage == "garbage":
        path.write_bytes(b"not a database at all" * 100)
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:5000])
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        con = sqlite3.connect(path)
        con.execute("UPDATE meta SET value = 'something else'")
        con.commit()
        con.close()
    again = Vocabulary(tmp_path, sources=[_small_table()])
    hit = again.by_cas("64-17-5")
    assert hit is not None and hit.entry.name == "ethanol"
    assert again.built


def test_a_missing_table_leaves_only_the_built_in_names(tmp_path: Path) -> None:
    empty = Vocabulary(tmp_path, sources=[])
    assert empty.by_cas("64-17-5") is None
    assert empty.problem is not None and "chemicals" in empty.problem


_BUILD = """
import sys
from pathlib import Path
from precursorwatch.chem.vocabulary import Vocabulary
hit = Vocabulary(Path(sys.argv[1]), sources=[Path(sys.argv[2])]).by_cas("64-17-5")
print(hit.entry.name if hit else None)
"""


def test_processes_building_at_once_all_get_a_whole_index(tmp_path: Path) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", _BUILD, str(tmp_path), str(_small_table())],
                              stdout=subprocess.PIPE, text=True) for _ in range(3)]
    names = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert names == ["ethanol"] * 3
    assert len(list(tmp_path.glob("vocabulary-*.sqlite"))) == 1
    assert not list(tmp_path.glob("*.tmp"))


def test_rows_of_the_table_are_read_with_their_own_and_extra_cas_numbers() -> None:
    large = [p for p in default_sources() if "large" in p.name]
    assert large
    rows = {r.cas: r for r in read_table(large[0]) if r.cas in {"299-42-3", "437-38-7"}}
    assert "50-98-6" in rows["299-42-3"].extra_cas  # ephedrine hydrochloride's number
    assert "fentanyl" in rows["437-38-7"].names
    assert all("-" not in n or not n.replace("-", "").isdigit() for n in rows["437-38-7"].names)


def test_a_forked_worker_opens_its_own_connection(tmp_path: Path) -> None:
    table = Vocabulary(tmp_path, sources=[_small_table()])
    assert table.by_cas("64-17-5") is not None  # opened in this process
    pid = os.fork()
    if pid == 0:  # the worker: looks up through a connection of its own, then leaves
        hit = table.by_cas("67-64-1")
        os._exit(0 if hit is not None and hit.entry.name == "acetone" else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert table.by_cas("64-17-5") is not None


def test_many_inchikeys_at_once_find_what_one_at_a_time_finds() -> None:
    table = default_vocabulary()
    rows = [r for _, r in zip(range(1200), read_table(_small_table()), strict=False)]
    keys = [r.inchikey for r in rows]
    stereo_only = from_smiles("C[C@H](N)C(=O)O").inchikey.split("-")[0] + "-XXXXXXXXXX-N"
    found = table.by_inchikeys([*keys, stereo_only, *keys[:10]])  # more than one query's worth
    for key in keys:
        one = table.by_inchikey(key)
        assert one is not None and one.how == "inchikey"
        assert found[key] == one
    # Only exact keys: the connectivity block alone is `by_inchikey`'s fall-back, not this.
    assert stereo_only not in found
    assert table.by_inchikeys([]) == {}


def test_a_batch_of_smiles_is_named_as_each_alone() -> None:
    smiles = ["Oc1ccccc1", "CC(=O)Oc1ccccc1C(=O)O", "CCCCCCCCCCCCCCCCCC(=O)O", "C1CC1C1CC1CC",
              "Oc1ccccc1"]
    alone = [Resolver([], vocabulary=default_vocabulary(), use_opsin=False).resolve(s)
             for s in smiles]
    batch = Resolver([], vocabulary=default_vocabulary(), use_opsin=False).resolve_batch(smiles)
    assert batch == alone
    assert [r.name for r in batch[:3]] == ["phenol", "aspirin", "stearic acid"]
    assert batch[0].cas == "108-95-2"
