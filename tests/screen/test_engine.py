"""End to end on the bundled sample manifest, local and Dask engines, CLI and reports."""

from __future__ import annotations

import csv
import datetime as dt
import gc
import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from precursorwatch.cli import app
from precursorwatch.screen.engine import ScreenOptions, ScreenRun, screen_file
from precursorwatch.screen.report import render_html, write_results
from tests.screen.conftest import SAMPLE_MANIFEST

# shipment id -> (level, flag codes that must be among its flags)
EXPECTED = {
    "PW-2611-001": ("none", set()),  # citric acid, sea, normal price
    "PW-2611-006": ("none", set()),  # ethyl acetate from an unlisted supplier
    "PW-2611-033": ("high", {"CONTROLLED_CHEMICAL", "EXPRESS_OR_POST", "RESIDENTIAL_CONSIGNEE",
                             "CRYPTO_PAYMENT", "LOW_DECLARED_VALUE", "NEW_CONSIGNEE"}),
    "PW-2611-034": ("high", {"CONTROLLED_CHEMICAL", "EXPRESS_OR_POST"}),  # fentanyl by post
    "PW-2611-035": ("high", {"CONTROLLED_CHEMICAL", "EXPRESS_OR_POST"}),  # CAS in the text
    "PW-2611-036": ("high", {"CONTROLLED_CHEMICAL", "FORWARDER_CONSIGNEE",
                             "TRANSIT_THIRD_COUNTRY"}),
    "PW-2611-037": ("high", {"CAS_CONTRADICTS_DESCRIPTION", "HS_MISMATCH"}),  # "dog food"
    "PW-2611-038": ("high", {"CAS_CONTRADICTS_DESCRIPTION", "HS_MISMATCH",
                             "VAGUE_DESCRIPTION"}),  # "cosmetic raw material"
    "PW-2611-039": ("high", {"HS_MISMATCH", "TRANSIT_THIRD_COUNTRY"}),  # ANPP as 2933.39
    "PW-2611-040": ("high", {"SPLIT_SHIPMENTS"}),
    "PW-2611-041": ("high", {"SPLIT_SHIPMENTS"}),
    "PW-2611-042": ("high", {"SPLIT_SHIPMENTS"}),
    "PW-2611-043": ("high", {"WATCHLIST_PARTY"}),  # shipper on the SDN list
    "PW-2611-044": ("high", {"WATCHLIST_PARTY"}),
    "PW-2611-046": ("medium", {"VAGUE_DESCRIPTION", "RESIDENTIAL_CONSIGNEE"}),
    "PW-2611-048": ("medium", {"WATCH_CHEMICAL"}),
    "PW-2611-049": ("high", {"CAS_CHECK_DIGIT", "CRYPTO_PAYMENT"}),
    "PW-2611-051": ("medium", {"BAD_ROW"}),
    "PW-2611-052": ("medium", {"BAD_ROW"}),
}


@pytest.fixture(scope="module")
def local_run() -> ScreenRun:
    return screen_file(SAMPLE_MANIFEST, options=ScreenOptions())


def test_sample_manifest_end_to_end(local_run: ScreenRun) -> None:
    results = {r.shipment_id: r for r in local_run}
    assert len(local_run) == 52
    assert [r.row for r in local_run] == list(range(1, 53))  # input order
    for sid, (level, codes) in EXPECTED.items():
        r = results[sid]
        assert r.level == level, (sid, r.risk, [f.code for f in r.flags])
        assert codes <= {f.code for f in r.flags}, (sid, [f.code for f in r.flags])
    # every clean line of ordinary trade stays at none
    assert sum(1 for r in local_run if r.level == "none") >= 30
    assert all(r.rule_set == "precursorwatch-default" for r in local_run)


def test_results_carry_contract_objects(local_run: ScreenRun) -> None:
    r = next(r for r in local_run if r.shipment_id == "PW-2611-033").to_dict()
    assert set(r) >= {"shipment_id", "risk", "level", "chemicals", "flags", "parties",
                      "rule_set", "rule_set_version"}
    chem = r["chemicals"][0]
    assert chem["verdict"] == "controlled" and chem["name"] == "4-piperidone"
    assert {m["jurisdiction"] for m in chem["matches"]} >= {"UN", "US"}
    assert all(set(f) == {"code", "weight", "detail"} for f in r["flags"])
    hit = next(r for r in local_run if r.shipment_id == "PW-2611-044").to_dict()["parties"]
    assert {(p["role"], p["entry"], p["programme"]) for p in hit} == {
        ("shipper", "QINSHENG PHARMACEUTICAL TECHNOLOGY CO., LTD.", "SDNTK"),
        ("notify_party", "ZHENG, Fujing", "SDNTK")}
    assert all(0.8 <= p["score"] <= 1.0 for p in hit)
    bad = next(r for r in local_run if r.shipment_id == "PW-2611-051").to_dict()
    assert "row 51, column 'date'" in bad["flags"][0]["detail"]
    assert "column 'quantity'" in bad["flags"][0]["detail"]


def test_dask_engine_gives_identical_results(local_run: ScreenRun) -> None:
    dask_run = screen_file(SAMPLE_MANIFEST, options=ScreenOptions(
        engine="dask", workers=2, processes=True, chunk_size=7))
    assert dask_run.engine == "dask"
    assert [r.to_dict() for r in dask_run] == [r.to_dict() for r in local_run]


def test_threshold_per_run_changes_party_hits() -> None:
    strict = screen_file(SAMPLE_MANIFEST, options=ScreenOptions(threshold=0.95))
    r = next(r for r in strict if r.shipment_id == "PW-2611-044")
    # "Quinsheng Pharmaceutical Tech" scores below 0.95; the notify party is exact
    assert [p.entry for p in r.parties] == ["ZHENG, Fujing"]


def test_reports(local_run: ScreenRun, tmp_path: Path) -> None:
    out = io.StringIO()
    write_results(local_run, "jsonl", out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 52 and json.loads(lines[32])["shipment_id"] == "PW-2611-033"
    out = io.StringIO()
    write_results(local_run, "csv", out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 52 and "CRYPTO_PAYMENT" in rows[32]["flags"].split(";")
    page = render_html(local_run)
    assert "<svg" in page and "Risk by consignee country" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # self-contained
    assert page.index("PW-2611-033") < page.index("PW-2611-001")  # highest risk first
    assert "Payment in cryptocurrency" in page  # rule explanation from the docstring
    assert "<script>" in page and "sort" in page


def test_cli_screen_writes_each_format(tmp_path: Path) -> None:
    runner = CliRunner()
    for fmt in ("jsonl", "csv", "html"):
        out = tmp_path / f"report.{fmt}"
        res = runner.invoke(app, ["screen", str(SAMPLE_MANIFEST), "--format", fmt,
                                  "--out", str(out), "--no-progress"])
        assert res.exit_code == 0, res.output
        assert out.stat().st_size > 1000
        assert "bad row: row 51, column 'date'" in res.output
        assert "screened 52 shipments" in res.output
    assert "PW-2611-049" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_cli_screen_refuses_an_unwritable_out_before_screening(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = tmp_path / "no" / "such" / "report.html"
    res = runner.invoke(app, ["screen", str(SAMPLE_MANIFEST), "--out", str(missing)])
    assert res.exit_code == 2 and "no folder" in res.output
    assert "screened" not in res.output  # said before any work, not after
    res = runner.invoke(app, ["screen", str(SAMPLE_MANIFEST), "--out", str(tmp_path)])
    assert res.exit_code == 2 and "is a folder" in res.output


def test_cli_screen_user_errors_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "m.csv"
    bad.write_text("Foo,Bar\n1,2\n")
    res = runner.invoke(app, ["screen", str(bad)])
    assert res.exit_code == 2
    assert "shipment_id" in res.output and "description" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(app, ["screen", str(SAMPLE_MANIFEST), "--map", "colour=Red"])
    assert res.exit_code == 2 and "unknown column 'colour'" in res.output
    res = runner.invoke(app, ["screen", str(SAMPLE_MANIFEST), "--watchlist", str(bad)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    res = runner.invoke(app, ["screen", str(SAMPLE_MANIFEST), "--as-of", "tomorrow"])
    assert res.exit_code == 2
    res = runner.invoke(app, ["screen", str(SAMPLE_MANIFEST), "-j", "XX"])
    assert res.exit_code == 2 and "unknown jurisdiction 'XX'" in res.output


def test_cli_map_renames_a_column(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("Order,Item text,Buyer\nO-1,NPP 98% 4kg,Juan Pérez López\n", "utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["screen", str(path), "--map", "description=Item text"])
    assert res.exit_code == 2  # "Order" is no known header for shipment_id: map it too
    res = runner.invoke(app, ["screen", str(path), "--map", "description=Item text",
                              "--map", "shipment_id=Order", "--no-progress"])
    assert res.exit_code == 0, res.output
    line = json.loads(res.stdout.splitlines()[0])
    assert line["shipment_id"] == "O-1" and line["level"] == "high"


def test_cached_lines_equal_a_fresh_evaluation(local_run: ScreenRun) -> None:
    """The cache for ordinary lines must give exactly what the rules give when run afresh."""
    from precursorwatch.screen.engine import screener_for
    from precursorwatch.screen.model import Shipment
    from precursorwatch.screen.readers import open_manifest
    from precursorwatch.screen.rules import FILE_RULES, Evidence, shipment_flags
    from precursorwatch.screen.validate import parse_row

    screener = screener_for(ScreenOptions())
    file_codes = {r.code for r in FILE_RULES}
    by_row = {r.row: r for r in local_run}
    checked = 0
    for row_no, raw in open_manifest(SAMPLE_MANIFEST).rows:
        s = parse_row(row_no, raw) if isinstance(raw, dict) else None
        if not isinstance(s, Shipment):
            continue
        chemicals, bad_cas, _, _ = screener._descriptions[s.description]
        declared, error = screener._declared.get(s.cas, (None, "")) if s.cas else (None, "")
        ev = Evidence(chemicals, declared, error, bad_cas, screener._party_hits(s))
        fresh = shipment_flags(s, ev, screener.cfg)
        assert fresh == [f for f in by_row[row_no].flags if f.code not in file_codes]
        checked += 1
    assert checked == 50


_MIXED_FIELDS = {  # values whose combinations the per-rule caches must keep apart
    "description": ["sample", "chemical intermediate 1kg", "Citric acid anhydrous BP",
                    "urea CAS 57-13-5", "pharma raw material CAS 110-89-5", "LED lamps",
                    "acetone 200L"],
    "cas": ["", "57-13-6", "57-13-6x", "67-64-1", "50-00-0"],
    "quantity": ["", "0.5", "2", "40", "1000"],
    "unit": ["kg", "g", "pcs", ""],
    "mode": ["", "courier", "post", "sea", "air"],
    "consignee_name": ["", "Juan Pérez", "Logística Express S.A. de C.V.", "Acme Labs Inc."],
    "consignee_address": ["", "Calle Robles 45 Int. 3", "Bodega 7, Manzanillo", "PO Box 12"],
    "shipper_country": ["CN", "IN", ""],
    "consignee_country": ["MX", "US", "GT"],
    "transit_countries": ["", "GT", "KR;GT", "MX"],
    "payment_method": ["T/T", "Bitcoin", "", "USDT TRC20"],
}


def test_cached_rule_answers_equal_a_fresh_evaluation_over_mixed_lines(tmp_path: Path) -> None:
    """Lines that share some fields and differ in others: each line's flags are exactly what
    the rules give it afresh, whatever lines came before it."""
    import csv
    import random

    from precursorwatch.screen.engine import Screener
    from precursorwatch.screen.model import Shipment
    from precursorwatch.screen.rules import FILE_RULES, Evidence, shipment_flags
    from precursorwatch.screen.validate import parse_row

    rnd = random.Random(11)
    path = tmp_path / "mixed.csv"
    rows = [{"shipment_id": f"M{i}", "shipper_name": "Hubei Example Co Ltd",
             **{k: rnd.choice(v) for k, v in _MIXED_FIELDS.items()}} for i in range(400)]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    run = screen_file(path, options=ScreenOptions(rules=None, threshold=0.99))
    screener = Screener(ScreenOptions(threshold=0.99))
    screener.screen_rows([(i, dict(r)) for i, r in enumerate(rows, start=1)])
    file_codes = {r.code for r in FILE_RULES}
    for i, (raw, result) in enumerate(zip(rows, run.results, strict=True), start=1):
        s = parse_row(i, raw)
        assert isinstance(s, Shipment)
        chemicals, bad_cas, _, _ = screener._descriptions[s.description]
        declared, error = screener._declared.get(s.cas, (None, "")) if s.cas else (None, "")
        ev = Evidence(chemicals, declared, error, bad_cas, screener._party_hits(s))
        assert shipment_flags(s, ev, screener.cfg) == [
            f for f in result.flags if f.code not in file_codes], raw
    assert len({f.code for r in run.results for f in r.flags}) >= 8


def test_jurisdictions_and_date_reach_the_checker(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("shipment_id,date,description,mode\n"
                    "K1,2026-11-02,\"1,4-Dioxa-8-azaspiro[4.5]decane 98%, 5kg\",courier\n"
                    "K2,2026-11-02,4-piperidone hydrochloride 1kg,courier\n", encoding="utf-8")
    un_now = screen_file(path, options=ScreenOptions(jurisdictions=("UN",)))
    assert {f.code for f in un_now.results[0].flags} >= {"DESIGNER_CHEMICAL", "EXPRESS_OR_POST"}
    assert "CONTROLLED_CHEMICAL" in {f.code for f in un_now.results[1].flags}
    # 4-piperidone entered the UN tables in 2024: in 2020 it was one step from nothing listed
    un_2020 = screen_file(path, options=ScreenOptions(jurisdictions=("UN",),
                                                      as_of=dt.date(2020, 1, 1)))
    assert "CONTROLLED_CHEMICAL" not in {f.code for f in un_2020.results[1].flags}


def test_full_lists_raise_no_false_party_hits_on_the_sample(sdn_dir: Path, un_xml: Path) -> None:
    run = screen_file(SAMPLE_MANIFEST, options=ScreenOptions(
        watchlists=(str(sdn_dir), str(un_xml))))
    hits = {(r.shipment_id, p.role, p.entry_id) for r in run for p in r.parties}
    assert hits == {("PW-2611-043", "shipper", "16907"), ("PW-2611-044", "shipper", "26325"),
                    ("PW-2611-044", "notify_party", "26236")}
    assert gc.isenabled()  # paused only while screening


def test_records_in_memory_screen_like_the_file(local_run: ScreenRun) -> None:
    from precursorwatch.screen.engine import screen_records

    with SAMPLE_MANIFEST.open(encoding="utf-8", newline="") as fh:
        records = list(csv.DictReader(fh))
    run = screen_records(records)
    assert [r.to_dict() for r in run] == [r.to_dict() for r in local_run]
    odd = screen_records([{"Ref": "X1", "Goods": "NPP 98% 4kg"}, {"Ref": "X2"}],
                         options=ScreenOptions(column_map=(("shipment_id", "Ref"),)))
    assert odd.results[0].level == "high"
    assert [f.code for f in odd.results[1].flags] == ["BAD_ROW"]


def test_dask_engine_on_a_scheduler_address(local_run: ScreenRun) -> None:
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        run = screen_file(SAMPLE_MANIFEST, options=ScreenOptions(
            engine="dask", scheduler=cluster.scheduler_address, chunk_size=10))
    assert [r.to_dict() for r in run] == [r.to_dict() for r in local_run]


def test_html_report_draws_chemicals_names_parties_and_sorts_by_severity(
        local_run: ScreenRun) -> None:
    page = render_html(local_run)
    # One card per distinct chemical, with an RDKit drawing, linked from the shipments.
    cards = re.findall(r'<div class="chem" id="chem-(\d+)">(.*?)</div>\n</div>', page, re.S)
    assert cards and all("<svg" in body for _, body in cards[:3])
    npp = next(body for _, body in cards if "N-phenethyl-4-piperidone" in body)
    assert "controlled" in npp and "UN 1988 Convention Table I" in npp
    assert 'href="#chem-' in page
    # Parties as written, and the watchlist hit beside them.
    assert "consignee Farmacéutica Jalisco S.A. de C.V." in page
    assert re.search(r'class="hit">\w+ ~ ', page)
    # Levels sort by severity, not alphabetically; every table with headers sorts.
    ranks = re.findall(r'<td data-sort="(\d)"><span class="lvl (\w+)">', page)
    severity = {"high": 3, "medium": 2, "low": 1, "none": 0}
    assert {"high", "none"} <= {level for _, level in ranks}
    assert all(int(rank) == severity[level] for rank, level in ranks)
    tables = re.findall(r"<table[^>]*>", page)
    assert len(tables) == 2 and all("sortable" in t for t in tables)
    assert 'id="search"' in page and 'id="level-filter"' in page
    # A capped score shows the sum of its weights.
    capped = [r for r in local_run.results if sum(f.weight for f in r.flags) > 100]
    assert capped and f"raw {sum(f.weight for f in capped[0].flags)}" in page


def test_a_large_manifest_shared_with_a_second_process_gives_the_same_results(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The local engine hands the second half of a large CSV manifest to a forked process;
    rows, bad rows, multi-line values and file rules come out as from one process."""
    from precursorwatch.screen import engine

    lines = SAMPLE_MANIFEST.read_text(encoding="utf-8").splitlines(keepends=True)
    body = lines[1:]
    text = [lines[0]]
    for i in range(60):
        text.extend(body)
        if i == 29:  # broken and multi-line records about the middle
            text.append('X1,2026-01-05,"acetone 200L\n')
            text.append('X2,2026-01-05,"NPP 1kg, Room 5\nBuilding 2",2933.39\n')
            text.append("\n")
            text.append('X3,2026-13-45,caffeine,1\n')
    path = tmp_path / "large.csv"
    path.write_text("".join(text), encoding="utf-8")
    started: list[object] = []
    original = engine._SecondHalf.start

    def start(*args: object) -> object:
        helper = original(*args)  # type: ignore[arg-type]
        started.append(helper)
        return helper

    monkeypatch.setattr(engine, "SPLIT_MIN_BYTES", 1)
    monkeypatch.setattr(engine, "_idle_core", lambda *_: True)  # whatever else runs here
    monkeypatch.setattr(engine._SecondHalf, "start", start)
    if engine._screening_checker.cache_info().currsize:
        engine._screening_checker.cache_clear()  # as in a fresh `pwatch screen` process
    two = screen_file(path, options=ScreenOptions(split=True, chunk_size=500))
    one = screen_file(path, options=ScreenOptions(split=False, chunk_size=500))
    assert started[0] is not None  # the first run was shared; the second was not
    assert [r.to_dict() for r in two] == [r.to_dict() for r in one]
    assert len(one.results) > 3000
    assert any(f.code == "BAD_ROW" for r in one for f in r.flags)


@pytest.mark.parametrize(("cores", "load", "others", "free"), [
    (2, 1.1, 0.05, True),  # a quiet 2-core machine: the run itself is the load
    (2, 1.9, 0.4, True),
    (2, 1.4, 1.0, False),  # another process keeps a core busy
    (2, 2.5, 0.1, False),  # busy all the last minute, idle for a moment
    (2, 12.0, 2.0, False),
    (1, 0.0, 0.0, False),
    (8, 5.5, 5.0, True),
    (8, 7.0, 6.6, False),
    (2, 0.5, None, True),  # no CPU times to read: the load average alone
    (2, 1.1, None, False),
])
def test_a_second_process_starts_only_when_a_core_is_free(
        cores: int, load: float, others: float | None, free: bool) -> None:
    from precursorwatch.screen.engine import core_free

    assert core_free(cores, load, others) is free


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="reads Linux's /proc/stat")
def test_the_cpu_used_by_other_processes_is_measured_without_this_ones() -> None:
    import subprocess
    import sys
    import time

    from precursorwatch.screen.engine import CpuMark

    start = CpuMark.now()
    assert start is not None
    busy = subprocess.Popen([sys.executable, "-c",
                             "import time\nt = time.time()\nwhile time.time() - t < 0.8: pass"])
    busy.wait()
    mark = CpuMark.now()
    assert mark is not None and mark.wall > start.wall
    assert mark.others_since(start) >= 0.3  # the child, busy all the while (and the rest)
    t = time.monotonic()
    while time.monotonic() - t < 0.3:
        pass
    # The machine's busy time counts this process's own, which `others_since` leaves out.
    after = CpuMark.now()
    assert after is not None and after.own - mark.own > 0.1
    assert after.busy - mark.busy >= (after.own - mark.own) - 0.05


def test_rows_read_a_block_at_a_time_are_taken_in_chunks_of_any_size() -> None:
    from precursorwatch.screen.engine import _Chunks

    blocks = [list(range(a, b)) for a, b in [(0, 3), (3, 4), (4, 4), (4, 11), (11, 30)]]
    chunks = _Chunks(iter(blocks))
    assert chunks.take(2) == [0, 1]
    assert chunks.take(0) == []  # nothing taken, nothing lost
    assert chunks.take(5) == [2, 3, 4, 5, 6]
    assert chunks.take(1) == [7]
    assert chunks.take(100) == list(range(8, 30))
    assert chunks.take(3) == []
