"""What was in force on a date."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from precursorwatch.cli import app
from precursorwatch.controls.load import controls_data_version, load_controls
from precursorwatch.controls.model import JURISDICTIONS, is_primary_source
from precursorwatch.controls.summary import (
    BEGIN,
    END,
    listings_in_force,
    markdown_report,
    parse_jurisdictions,
    replace_generated,
    rules_in_force,
    summarise_lists,
    verification_counts,
)

CONTROLS = load_controls()
TABLE_I = "1988 Convention Table I"


def table_i(on: dt.date) -> set[str]:
    return {x.substance for x in listings_in_force(CONTROLS, on, ["UN"]) if x.list == TABLE_I}


def test_un_table_i_on_2021_01_01_has_npp_anpp_not_4ap() -> None:
    on = table_i(dt.date(2021, 1, 1))
    assert {"npp", "anpp"} <= on
    assert not on & {"4-ap", "1-boc-4-ap", "norfentanyl", "4-piperidone", "1-boc-4-piperidone"}


def test_un_table_i_on_2022_12_31_has_the_2022_fentanyl_precursors() -> None:
    on = table_i(dt.date(2022, 12, 31))
    assert {"4-ap", "1-boc-4-ap", "norfentanyl", "npp", "anpp"} <= on
    assert "4-piperidone" not in on


def test_4_piperidone_only_from_its_date() -> None:
    (listing,) = [x for x in CONTROLS.listings_for("4-piperidone") if x.jurisdiction == "UN"]
    assert "4-piperidone" not in table_i(listing.since - dt.timedelta(days=1))
    assert "4-piperidone" in table_i(listing.since)


def test_npp_before_its_un_date_is_not_on_table_i() -> None:
    assert "npp" not in table_i(dt.date(2017, 10, 17))
    assert "npp" in table_i(dt.date(2017, 10, 18))


def test_moved_between_tables_is_on_one_table_at_a_time() -> None:
    for on in (dt.date(1995, 1, 1), dt.date(2005, 1, 1)):
        lists = {x.list for x in listings_in_force(CONTROLS, on, ["UN"])
                 if x.substance == "acetic-anhydride"}
        assert len(lists) == 1
    assert "acetic-anhydride" in table_i(dt.date(2005, 1, 1))
    assert "acetic-anhydride" not in table_i(dt.date(1995, 1, 1))


def test_summary_rows_for_one_date() -> None:
    rows = summarise_lists(CONTROLS, dt.date(2026, 11, 23), ["UN", "US"])
    assert [r.jurisdiction for r in rows] == sorted(
        (r.jurisdiction for r in rows), key=JURISDICTIONS.index)
    by_list = {(r.jurisdiction, r.list): r for r in rows}
    t1 = by_list[("UN", TABLE_I)]
    assert t1.substances == len(table_i(dt.date(2026, 11, 23)))
    assert t1.rules == 2  # the glycidate ester families
    assert t1.earliest == dt.date(1990, 11, 11)
    assert t1.latest == dt.date(2024, 12, 3)
    ssl = by_list[("US", "Special Surveillance List (21 U.S.C. 842(a)(11))")]
    assert ssl.effects == ("watch",)
    assert all(r.jurisdiction in ("UN", "US") for r in rows)


def test_us_list_i_rules_change_with_the_date() -> None:
    def us_list_i_rules(on: dt.date) -> set[str]:
        return {r.id for r in rules_in_force(CONTROLS, on, ["US"])
                if r.list == "List I (21 CFR 1310.02)"}

    assert us_list_i_rules(dt.date(2020, 5, 14)) == set()
    assert us_list_i_rules(dt.date(2021, 1, 1)) == {"us-4ap-amides-carbamates"}
    assert us_list_i_rules(dt.date(2024, 1, 1)) == {
        "us-4ap-amides-carbamates-halides", "us-4-piperidone-family"}


def test_lists_with_nothing_in_force_are_left_out() -> None:
    first = min(x.since for x in (*CONTROLS.listings, *CONTROLS.rules))
    assert summarise_lists(CONTROLS, first - dt.timedelta(days=1)) == []
    assert summarise_lists(CONTROLS, first) != []


def test_jurisdiction_codes_are_checked() -> None:
    assert parse_jurisdictions(["us", "UN,cn"]) == ("US", "UN", "CN")
    assert parse_jurisdictions(None) == JURISDICTIONS
    with pytest.raises(ValueError, match="unknown jurisdiction 'UK'; expected one of UN, US"):
        parse_jurisdictions(["UN", "UK"])


DATES = st.dates(min_value=dt.date(1985, 1, 1), max_value=dt.date(2030, 12, 31))
SUBSETS = st.lists(st.sampled_from(JURISDICTIONS), min_size=1, max_size=6, unique=True)


@settings(max_examples=60, deadline=None)
@given(on=DATES, wanted=SUBSETS)
def test_summary_counts_equal_a_direct_count(on: dt.date, wanted: list[str]) -> None:
    rows = summarise_lists(CONTROLS, on, wanted)
    for row in rows:
        subs = {x.substance for x in CONTROLS.listings
                if x.jurisdiction == row.jurisdiction and x.list == row.list
                and x.since <= on and (x.until is None or on < x.until)}
        assert row.substances == len(subs)
        assert row.earliest <= row.latest <= on
        assert row.jurisdiction in wanted
    total = sum(r.substances for r in rows)
    pairs = {(x.jurisdiction, x.list, x.substance)
             for x in listings_in_force(CONTROLS, on, wanted)}
    assert total == len(pairs)


@settings(max_examples=40, deadline=None)
@given(a=DATES, b=DATES)
def test_a_listing_without_end_stays_in_force(a: dt.date, b: dt.date) -> None:
    early, late = min(a, b), max(a, b)
    before = {(x.jurisdiction, x.list, x.substance) for x in listings_in_force(CONTROLS, early)
              if x.until is None}
    after = {(x.jurisdiction, x.list, x.substance) for x in listings_in_force(CONTROLS, late)}
    assert before <= after


def test_summary_rows_serialise_to_json() -> None:
    # Mexico's art. 4 fr. I as of 2018: the twelve precursors of the 1997 law plus NPP and ANPP.
    (row,) = [r for r in summarise_lists(CONTROLS, dt.date(2018, 1, 1), ["MX"])
              if r.list.endswith("fr. I")]
    data = json.loads(json.dumps(row.as_dict()))
    assert data == {
        "jurisdiction": "MX",
        "list": "Ley Federal para el Control de Precursores Químicos, art. 4 fr. I",
        "categories": ["precursor químico"], "effects": ["control"], "substances": 14, "rules": 0,
        "earliest": "1997-12-27", "latest": "2017-07-18", "as_of": "2018-01-01",
    }


# ---------------------------------------------------------------- how citations were checked

@settings(max_examples=40, deadline=None)
@given(on=st.one_of(st.none(), DATES), wanted=SUBSETS)
def test_verification_counts_equal_a_direct_count(on: dt.date | None, wanted: list[str]) -> None:
    counts = verification_counts(CONTROLS, on, wanted)
    assert [c.jurisdiction for c in counts] == sorted(
        (c.jurisdiction for c in counts), key=JURISDICTIONS.index)
    for c in counts:
        mine = [x for x in CONTROLS.listings if x.jurisdiction == c.jurisdiction
                and (on is None or x.in_force(on))]
        assert c.listings == tuple(sum(x.verification == v for x in mine)
                                   for v in ("primary", "secondary", "unverified"))
        assert c.total_listings == len(mine)
        assert c.listings_primary_address == sum(is_primary_source(x.source) for x in mine)
        assert c.listings_with_threshold == sum(x.threshold is not None for x in mine)
        assert c.jurisdiction in wanted


@pytest.mark.parametrize(("address", "primary"), [
    ("https://www.govinfo.gov/content/pkg/FR-2020-04-15/html/2020-07064.htm", True),
    ("https://eur-lex.europa.eu/eli/reg/2023/196/oj", True),
    ("https://laws-lois.justice.gc.ca/eng/regulations/SOR-2002-359/", True),
    ("https://www.dof.gob.mx/nota_detalle.php?codigo=5490487", True),
    ("http://www.mps.gov.cn/n2254314/n6409334/c6585806/content.html", True),
    ("https://www.unodc.org/pdf/convention_1988_en.pdf", True),
    ("https://www.law.cornell.edu/cfr/text/21/1310.02", False),
    ("https://regulations.justia.com/regulations/fedreg/2020/04/17/2020-07381.html", False),
    ("https://eurlexa.com/act/en/32023R0196/present/text", False),  # a look-alike, not EUR-Lex
    ("https://notgov.cn.example.com/x", False),
    ("21 CFR 1310.02", False),
])
def test_primary_publishers_by_domain(address: str, primary: bool) -> None:
    assert is_primary_source(address) is primary


def test_markdown_report_block_replaces_only_itself() -> None:
    block = markdown_report(CONTROLS, None)
    assert block.startswith(BEGIN) and block.rstrip().endswith(END)
    total = f"| **all** | {len(CONTROLS.listings)} |"
    assert total in block
    doc = f"# Title\n\nIntro.\n\n{BEGIN}\nold table\n{END}\n\nAfter.\n"
    out = replace_generated(doc, block)
    assert out.startswith("# Title\n\nIntro.\n\n") and out.endswith("\nAfter.\n")
    assert "old table" not in out and out.count(BEGIN) == 1
    assert replace_generated(out, block) == out
    assert replace_generated("# Only a title\n", block) == f"# Only a title\n\n{block}"


def test_the_committed_document_matches_the_data() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "control-data.md"
    text = doc.read_text(encoding="utf-8")
    block = markdown_report(CONTROLS, controls_data_version())
    assert block in text, ("docs/control-data.md is out of date: run "
                           "python -m precursorwatch.controls.summary --write "
                           "docs/control-data.md")


runner = CliRunner()


def test_cli_lists_json_has_lists_verification_and_version() -> None:
    result = runner.invoke(app, ["lists", "--as-of", "2024-06-01", "-j", "US,CA",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["as_of"] == "2024-06-01"
    assert data["controls_data"]["checked"]
    expected = summarise_lists(CONTROLS, dt.date(2024, 6, 1), ["US", "CA"])
    assert data["lists"] == [r.as_dict() for r in expected]
    by_code = {c["jurisdiction"]: c for c in data["verification"]}
    assert set(by_code) == {"US", "CA"}
    for code, c in by_code.items():
        in_force = listings_in_force(CONTROLS, dt.date(2024, 6, 1), [code])
        assert sum(c["listings"].values()) == len(in_force)


def test_cli_lists_table_shows_sources_and_version() -> None:
    result = runner.invoke(app, ["lists", "-j", "UN"])
    assert result.exit_code == 0, result.output
    assert "How the citations were checked" in result.stdout
    assert "control data" in result.stdout


def test_cli_lists_names_a_bad_date() -> None:
    result = runner.invoke(app, ["lists", "--as-of", "yesterday"])
    assert result.exit_code == 2
    assert "--as-of: 'yesterday' is not a date" in result.output


def test_two_addresses_in_one_source_are_not_a_primary_source() -> None:
    both = ("http://english.www.gov.cn/state_council/ministries/2019/04/01/x.htm ; "
            "https://thefederalregister.org/83-FR/5188")
    assert not is_primary_source(both)
    assert is_primary_source(both.split(" ; ")[0])
