"""What changed on the lists in a period, and `pwatch lists changes`."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from precursorwatch.cli import app
from precursorwatch.controls.changes import all_changes, changes_between
from precursorwatch.controls.load import load_controls
from precursorwatch.controls.model import JURISDICTIONS, ControlSet

SUBSTANCES = """\
- id: acetic-anhydride
  name: acetic anhydride
  smiles: "CC(=O)OC(C)=O"
  sources: [https://www.unodc.org/a]
- id: npp
  name: N-phenethyl-4-piperidone
  smiles: "O=C1CCN(CCc2ccccc2)CC1"
  sources: [https://www.unodc.org/b]
- id: 4-ap
  name: 4-anilinopiperidine
  smiles: "C1CC(CCN1)Nc1ccccc1"
  sources: [https://www.govinfo.gov/c]
"""
LISTINGS = """\
- substance: acetic-anhydride
  jurisdiction: UN
  list: 1988 Convention Table II
  category: Table II
  since: 1990-11-11
  until: 2001-06-01
  legal_reference: 1988 Convention, Table II as adopted
  source: https://www.unodc.org/a
- substance: acetic-anhydride
  jurisdiction: UN
  list: 1988 Convention Table I
  category: Table I
  since: 2001-06-01
  decided: 2000-12-01
  legal_reference: CND decision 44/5
  source: https://www.unodc.org/a
  verification: primary
- substance: npp
  jurisdiction: UN
  list: 1988 Convention Table I
  category: Table I
  since: 2017-10-18
  decided: 2017-03-16
  legal_reference: CND decision 60/13
  source: https://www.unodc.org/b
- substance: npp
  jurisdiction: US
  list: List I (21 CFR 1310.02)
  category: List I
  since: 2007-04-23
  until: 2030-01-01
  legal_reference: 72 FR 20039
  source: https://www.govinfo.gov/d
"""
RULES = """\
- id: us-4ap-amides-carbamates
  label: 4-AP, its amides, carbamates and salts
  jurisdiction: US
  list: List I (21 CFR 1310.02)
  category: List I
  since: 2020-05-15
  until: 2023-11-30
  parent: 4-ap
  smarts: "C1CC(CCN1)Nc1ccccc1"
  legal_reference: 85 FR 20822
  source: https://www.govinfo.gov/c
- id: us-4ap-amides-carbamates-halides
  label: 4-AP, its amides, carbamates, halides and salts
  jurisdiction: US
  list: List I (21 CFR 1310.02)
  category: List I
  since: 2023-11-30
  parent: 4-ap
  smarts: "C1CC(CCN1)Nc1ccccc1"
  legal_reference: 88 FR 74352
  source: https://www.govinfo.gov/e
"""


@pytest.fixture(scope="module")
def controls(tmp_path_factory: pytest.TempPathFactory) -> ControlSet:
    d = tmp_path_factory.mktemp("data")
    (d / "substances.yaml").write_text(SUBSTANCES, encoding="utf-8")
    (d / "listings.yaml").write_text(textwrap.dedent(LISTINGS), encoding="utf-8")
    (d / "rules").mkdir()
    (d / "rules" / "us.yaml").write_text(RULES, encoding="utf-8")
    return load_controls(d)


def test_a_move_between_tables_is_one_amendment(controls: ControlSet) -> None:
    found = changes_between(controls, dt.date(2001, 1, 1), dt.date(2001, 12, 31))
    (change,) = found
    assert change.kind == "amended"
    assert change.date == dt.date(2001, 6, 1)
    assert (change.previous_list, change.list) == (
        "1988 Convention Table II", "1988 Convention Table I")
    assert change.legal_reference == "CND decision 44/5"
    assert change.decided == dt.date(2000, 12, 1)
    assert change.verification == "primary"
    assert change.summary == ("acetic anhydride: moved from 1988 Convention Table II (Table II) "
                              "to 1988 Convention Table I (Table I)")


def test_a_replaced_family_rule_is_one_amendment(controls: ControlSet) -> None:
    (change,) = changes_between(controls, dt.date(2023, 11, 30), dt.date(2023, 11, 30))
    assert change.kind == "amended" and change.record == "rule"
    assert change.subject_id == "us-4ap-amides-carbamates-halides"
    assert change.previous_id == "us-4ap-amides-carbamates"
    assert change.legal_reference == "88 FR 74352"
    assert "replaces the rule 'us-4ap-amides-carbamates'" in change.summary


def test_additions_removals_and_order(controls: ControlSet) -> None:
    found = changes_between(controls, dt.date(2007, 1, 1))
    assert [(c.date.isoformat(), c.jurisdiction, c.kind, c.subject_id) for c in found] == [
        ("2007-04-23", "US", "added", "npp"),
        ("2017-10-18", "UN", "added", "npp"),
        ("2020-05-15", "US", "added", "us-4ap-amides-carbamates"),
        ("2023-11-30", "US", "amended", "us-4ap-amides-carbamates-halides"),
        ("2030-01-01", "US", "removed", "npp"),
    ]
    assert found[-1].summary == "N-phenethyl-4-piperidone: removed from List I (21 CFR 1310.02) " \
        "(List I)"


def test_period_bounds_are_included_and_jurisdictions_filter(controls: ControlSet) -> None:
    on = dt.date(2017, 10, 18)
    assert len(changes_between(controls, on, on)) == 1
    assert changes_between(controls, on + dt.timedelta(days=1), dt.date(2020, 5, 14)) == []
    assert [c.jurisdiction for c in changes_between(controls, dt.date(1900, 1, 1),
                                                     jurisdictions=["un"])] == ["UN"] * 3
    with pytest.raises(ValueError, match="before the start date"):
        changes_between(controls, on, on - dt.timedelta(days=1))
    with pytest.raises(ValueError, match="unknown jurisdiction 'XX'"):
        changes_between(controls, on, jurisdictions=["XX"])


BUNDLED = load_controls()


def test_every_bundled_record_date_is_one_change() -> None:
    """Each listing and rule starts once and, when it ends, ends once: as an addition, a
    removal, or (start and end paired) an amendment."""
    found = all_changes(BUNDLED)
    records = [*BUNDLED.listings, *BUNDLED.rules]
    starts = len(records)
    ends = sum(r.until is not None for r in records)
    amended = sum(c.kind == "amended" for c in found)
    assert sum(c.kind == "added" for c in found) == starts - amended
    assert sum(c.kind == "removed" for c in found) == ends - amended
    assert [c.date for c in found] == sorted(c.date for c in found)


DATES = st.dates(min_value=dt.date(1960, 1, 1), max_value=dt.date(2030, 12, 31))


@settings(max_examples=50, deadline=None)
@given(a=DATES, b=DATES, wanted=st.lists(st.sampled_from(JURISDICTIONS), min_size=1,
                                         unique=True))
def test_a_period_is_the_union_of_its_halves(a: dt.date, b: dt.date, wanted: list[str]) -> None:
    start, end = min(a, b), max(a, b)
    middle = start + (end - start) // 2
    whole = changes_between(BUNDLED, start, end, wanted)
    halves = changes_between(BUNDLED, start, middle, wanted)
    if middle < end:
        halves += changes_between(BUNDLED, middle + dt.timedelta(days=1), end, wanted)
    assert whole == halves
    assert all(start <= c.date <= end and c.jurisdiction in wanted for c in whole)


runner = CliRunner()


def test_cli_changes_json_carries_the_data_version() -> None:
    result = runner.invoke(app, ["lists", "changes", "--since", "2020-01-01", "--until",
                                 "2024-12-31", "-j", "US", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["since"] == "2020-01-01" and data["until"] == "2024-12-31"
    assert data["controls_data"]["version"]
    expected = changes_between(BUNDLED, dt.date(2020, 1, 1), dt.date(2024, 12, 31), ["US"])
    assert [c["subject_id"] for c in data["changes"]] == [c.subject_id for c in expected]
    assert all(set(c) >= {"date", "kind", "legal_reference", "source", "verification"}
               for c in data["changes"])


def test_cli_changes_table() -> None:
    result = runner.invoke(app, ["lists", "changes", "--since", "1900-01-01"])
    assert result.exit_code == 0, result.output
    assert "Changes to the control lists from 1900-01-01" in result.stdout
    assert "control data" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--since", "2024-02-30"], "--since: '2024-02-30' is not a date"),
    (["--since", "2024-01-01", "--until", "2023-01-01"], "--until: '2023-01-01' is before"),
    (["--since", "2024-01-01", "-j", "UK"], "unknown jurisdiction 'UK'"),
])
def test_cli_changes_mistakes_are_named(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["lists", "changes", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_cli_changes_table_shows_the_decision_date_beside_the_in_force_date() -> None:
    result = runner.invoke(app, ["lists", "changes", "--since", "2017-10-18", "--until",
                                 "2017-10-18", "-j", "UN"])
    assert result.exit_code == 0, result.output
    decided = {c.decided for c in changes_between(BUNDLED, dt.date(2017, 10, 18),
                                                  dt.date(2017, 10, 18), ["UN"]) if c.decided}
    for day in decided:
        assert f"(decided {day.isoformat()})" in result.stdout


def test_a_listing_ended_and_restarted_on_its_own_list_pairs_with_that_list(
        tmp_path: Path) -> None:
    (tmp_path / "substances.yaml").write_text(SUBSTANCES, encoding="utf-8")
    listing = """\
- substance: npp
  jurisdiction: US
  list: {list}
  category: {category}
  since: {since}
  {until}
  legal_reference: ref {category}
  source: https://www.govinfo.gov/x
"""
    text = "".join([
        listing.format(list="List I", category="old", since="2010-01-01",
                       until="until: 2020-01-01"),
        listing.format(list="Schedule II", category="new", since="2020-01-01", until=""),
        listing.format(list="List I", category="new", since="2020-01-01", until=""),
    ])
    (tmp_path / "listings.yaml").write_text(text, encoding="utf-8")
    found = changes_between(load_controls(tmp_path), dt.date(2020, 1, 1), dt.date(2020, 1, 1))
    assert sorted((c.kind, c.previous_list, c.list) for c in found) == [
        ("added", "", "Schedule II"), ("amended", "List I", "List I")]
