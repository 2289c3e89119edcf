"""The watchlist cache: lists and the matcher's indexes read back from the user's cache folder,
rebuilt whenever a list file or the matching code changes, or the cache file is damaged; and
one OPSIN process per screening run, stopped at its end."""

from __future__ import annotations

import datetime as dt
import os
import pickle
import shutil
import time
from pathlib import Path

import psutil
import pytest
from rdkit import Chem

from precursorwatch.chem.opsin import java_available
from precursorwatch.controls.load import load_controls
from precursorwatch.detect.check import Checker
from precursorwatch.screen import engine
from precursorwatch.screen.diskcache import CachedOpsin, cache_path, cached, code_version, store
from precursorwatch.screen.engine import Screener, ScreenOptions, close_screeners, screen_file
from precursorwatch.screen.watchlist import (
    PartyMatcher,
    WatchlistError,
    bundled_watchlist_path,
    load_matcher,
    load_watchlist,
)
from tests.screen.conftest import SAMPLE_MANIFEST

NEW_ROW = ('99999,"ZYLKORP FINE CHEMICALS CO., LTD.",-0- ,"SDNTK",-0- ,-0- ,-0- ,-0- ,-0- ,'
           '-0- ,-0- ,-0- \n')


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("PRECURSORWATCH_CACHE", str(folder))
    return folder


@pytest.fixture()
def sdn_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "sdn"
    shutil.copytree(bundled_watchlist_path().parent, folder)
    return folder


def _cache_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("watchlist-*.pickle"))


def test_cached_matcher_equals_a_fresh_one(cache: Path, sdn_copy: Path) -> None:
    fresh = PartyMatcher(load_watchlist(sdn_copy))
    first, counts = load_matcher([sdn_copy])
    again, _ = load_matcher([sdn_copy])  # read back from the file the first call wrote
    assert len(_cache_files(cache)) == 1
    assert counts == [len(fresh.entries)]
    assert vars(first) == vars(fresh)
    assert vars(again) == vars(fresh)
    parties = [("Boyle Chemicals Shanghai Co Ltd", "CN"), ("Kai Kai Technology", "CN"),
               ("Guzman Loera Joaquin", "MX"), ("Acme Paints LLC", "US")]
    assert again.match_many(parties, 0.8) == fresh.match_many(parties, 0.8)


def test_a_matching_cache_file_is_what_is_used(cache: Path, sdn_copy: Path) -> None:
    load_matcher([sdn_copy])
    [path] = _cache_files(cache)
    with path.open("rb") as fh:
        key, (packed, counts) = pickle.load(fh)
    # The same key with one entry fewer: what comes back shows the cache was read, not the list.
    tag, entries = packed["entries"]
    packed["entries"] = (tag, entries[:-1])
    store(path, key, (packed, [counts[0] - 1]))
    matcher, counts2 = load_matcher([sdn_copy])
    assert counts2 == [counts[0] - 1]
    assert len(matcher.entries) == counts[0] - 1


def test_a_changed_watchlist_file_is_read_again(cache: Path, sdn_copy: Path) -> None:
    before, _ = load_matcher([sdn_copy])
    assert not before.match_many([("Zylkorp Fine Chemicals", "")], 0.8)[0]
    with (sdn_copy / "sdn.csv").open("a", encoding="utf-8") as fh:
        fh.write(NEW_ROW)
    after, counts = load_matcher([sdn_copy])
    assert counts == [len(before.entries) + 1]
    [hit, *_] = after.match_many([("Zylkorp Fine Chemicals", "")], 0.8)[0]
    assert hit.entry.entry_id == "99999"
    assert len(_cache_files(cache)) == 2  # one per content of the list


def test_a_changed_alias_file_beside_sdn_csv_is_read_again(cache: Path, sdn_copy: Path) -> None:
    before, _ = load_matcher([sdn_copy / "sdn.csv"])
    guzman = next(e for e in before.entries if e.name == "GUZMAN LOERA, Joaquin")
    with (sdn_copy / "alt.csv").open("a", encoding="utf-8") as fh:
        fh.write(f'{guzman.entry_id},99999,"aka","EL TESTIGO CHAPO",-0- \n')
    after, _ = load_matcher([sdn_copy / "sdn.csv"])
    again = next(e for e in after.entries if e.entry_id == guzman.entry_id)
    assert "EL TESTIGO CHAPO" in again.aliases


@pytest.mark.parametrize("damage", [b"", b"not a pickle at all", b"\x80\x05\x95garbage"])
def test_a_corrupt_cache_is_rebuilt(cache: Path, sdn_copy: Path, damage: bytes) -> None:
    good, _ = load_matcher([sdn_copy])
    [path] = _cache_files(cache)
    path.write_bytes(damage)
    rebuilt, _ = load_matcher([sdn_copy])
    assert vars(rebuilt) == vars(good)
    with path.open("rb") as fh:  # and written again, whole
        _key, (_packed, counts) = pickle.load(fh)
    assert counts == [len(good.entries)]
    assert vars(load_matcher([sdn_copy])[0]) == vars(good)


def test_a_cache_stored_under_another_key_is_not_trusted(cache: Path) -> None:
    path = cache_path("thing", ("a", 1))
    store(path, ("b", 2), "made for b")  # a file where the key's digest points, other key
    assert cached("thing", ("a", 1), lambda: "built for a") == "built for a"
    assert cached("thing", ("a", 1), lambda: "built again") == "built for a"


def test_files_unused_for_a_month_are_removed_when_a_new_one_is_written(cache: Path) -> None:
    cached("thing", ("old",), lambda: 1)
    cached("thing", ("recent",), lambda: 2)
    old, recent = cache_path("thing", ("old",)), cache_path("thing", ("recent",))
    month_ago = time.time() - 31 * 86400
    os.utime(old, (month_ago, month_ago))
    os.utime(recent, (month_ago, month_ago))
    assert cached("thing", ("recent",), lambda: 0) == 2  # a read marks it in use
    cached("thing", ("new",), lambda: 3)
    assert not old.exists()
    assert recent.exists()
    assert cache_path("thing", ("new",)).exists()


def test_code_version_follows_the_source(tmp_path: Path) -> None:
    src = tmp_path / "mod.py"
    src.write_text("SCORE = 1\n")
    v1 = code_version([src], ["rapidfuzz"])
    src.write_text("SCORE = 2\n")
    assert code_version([src], ["rapidfuzz"]) != v1


def test_an_unwritable_cache_folder_costs_only_the_rebuild(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sdn_copy: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("PRECURSORWATCH_CACHE", str(blocker / "cache"))
    matcher, counts = load_matcher([sdn_copy])
    assert counts == [len(load_watchlist(sdn_copy))]
    assert vars(matcher) == vars(PartyMatcher(load_watchlist(sdn_copy)))


def test_a_missing_watchlist_is_a_clear_error(cache: Path, tmp_path: Path) -> None:
    with pytest.raises(WatchlistError, match="no such watchlist"):
        load_matcher([tmp_path / "nowhere.csv"])
    bad = tmp_path / "list.txt"
    bad.write_text("x")
    with pytest.raises(WatchlistError, match="unknown watchlist format"):
        load_matcher([bad])


@pytest.mark.skipif(not java_available(), reason="needs Java for OPSIN")
def test_opsin_answers_are_kept_across_runs(cache: Path) -> None:
    names = ["2-methylpropan-1-ol", "1-(2-phenylethyl)piperidin-4-one", "qzx not a name"]
    first = CachedOpsin()
    answers = first(names)
    assert answers[0] and Chem.CanonSmiles(answers[0]) == Chem.CanonSmiles("CC(C)CO")
    assert answers[1] and answers[2] is None
    assert first.pid is not None
    first.close()
    again = CachedOpsin()  # a later run: every name known, no JVM started
    assert again(names) == answers
    assert again.pid is None
    again.store_path.write_bytes(b"this is not an SQLite file" * 100)
    fresh = CachedOpsin()
    assert fresh(names) == answers  # a damaged store is started again, answers from OPSIN
    assert fresh.pid is not None
    fresh.close()
    assert CachedOpsin()(names[:1]) == answers[:1]


@pytest.mark.skipif(not java_available(), reason="needs Java for OPSIN")
def test_one_opsin_process_for_all_chunks_and_none_after(tmp_path: Path, cache: Path) -> None:
    manifest = tmp_path / "m.csv"
    lines = SAMPLE_MANIFEST.read_text(encoding="utf-8").splitlines(keepends=True)
    # New systematic names in a late chunk: the OPSIN process of the first chunks answers.
    manifest.write_text("".join(lines) + "".join(
        line.replace("4-piperidone", "2-methyl-4-piperidone") for line in lines[1:]),
        encoding="utf-8")
    options = ScreenOptions(chunk_size=5)
    parser = CachedOpsin()  # under the empty cache folder: every name is new
    screener = Screener(options, checker=Checker(load_controls(), name_parser=parser))
    started: set[int] = set()
    original = screener.screen_rows

    def watched(rows):  # type: ignore[no-untyped-def]
        out = original(rows)
        if parser.pid is not None:
            started.add(parser.pid)
        return out

    screener.screen_rows = watched  # type: ignore[method-assign]
    engine._SCREENERS[options] = screener
    try:
        screen_file(manifest, options=options)
        assert len(started) == 1
        [pid] = started
        close_screeners()
    finally:
        del engine._SCREENERS[options]
    assert parser.pid is None
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_chemicals_of_known_descriptions_are_read_back_without_a_checker(
        tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second run over the same goods texts takes their chemicals from the cache folder, starts
    no Checker, and gives the same results; another date is another key."""
    from precursorwatch.chem.vocabulary import cache_root

    real = Path(os.environ.get("HOME", "~")).expanduser() / ".cache" / "precursorwatch"
    cache.mkdir()
    for index in real.glob("vocabulary-*.sqlite"):  # the general vocabulary, not rebuilt
        (cache / index.name).symlink_to(index)
    assert cache_root() == cache
    # Chunk sizes no other test uses: fresh Screeners, made under this cache folder.
    first = screen_file(SAMPLE_MANIFEST, options=ScreenOptions(chunk_size=7007))
    assert len(list(cache.glob("screen-chemicals-*.pickle"))) == 1

    def no_checker() -> Checker:
        raise AssertionError("a Checker was built for descriptions already known")

    monkeypatch.setattr(engine, "_screening_checker", no_checker)
    options = ScreenOptions(chunk_size=9009)
    try:
        again = screen_file(SAMPLE_MANIFEST, options=options)
        assert [r.to_dict() for r in again] == [r.to_dict() for r in first]
        with pytest.raises(AssertionError, match="Checker was built"):
            screen_file(SAMPLE_MANIFEST, options=ScreenOptions(chunk_size=9009,
                                                               as_of=dt.date(2024, 1, 2)))
    finally:
        for opts in list(engine._SCREENERS):
            if opts.chunk_size in (7007, 9009):
                del engine._SCREENERS[opts]
