"""Loader errors name the file, the record (position and id) and the field."""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
from pathlib import Path

import pytest

from precursorwatch.controls.load import (
    DATA_DIR,
    ControlsDataError,
    controls_data_version,
    load_controls,
    load_data_version,
)

SUBSTANCE = """\
- id: npp
  name: N-phenethyl-4-piperidone
  systematic_name: 1-(2-phenylethyl)piperidin-4-one
  smiles: "O=C1CCN(CCc2ccccc2)CC1"
  cas: ["39742-60-4"]
  abbreviations: [NPP]
  synonyms: []
  role: fentanyl precursor
  hs_code: "2933.37"
  sources: [https://example.org/a]
"""
LISTING = """\
- substance: npp
  jurisdiction: UN
  list: 1988 Convention Table I
  category: Table I
  since: 2017-10-18
  legal_reference: CND 60
  source: https://example.org/b
"""
RULE = """\
- id: piperidones
  label: 4-piperidones
  jurisdiction: US
  list: List I
  category: List I
  since: 2023-05-12
  smarts: "O=C1CCNCC1"
  legal_reference: 88 FR 21902
  source: https://example.org/c
"""


def write(tmp_path: Path, substances: str = SUBSTANCE, listings: str = LISTING,
          rules: str | None = RULE) -> Path:
    (tmp_path / "substances.yaml").write_text(textwrap.dedent(substances), encoding="utf-8")
    (tmp_path / "listings.yaml").write_text(textwrap.dedent(listings), encoding="utf-8")
    if rules is not None:
        (tmp_path / "rules").mkdir(exist_ok=True)
        (tmp_path / "rules" / "families.yaml").write_text(rules, encoding="utf-8")
    return tmp_path


def load_error(path: Path) -> ControlsDataError:
    with pytest.raises(ControlsDataError) as info:
        load_controls(path)
    return info.value


def test_a_valid_folder_loads(tmp_path: Path) -> None:
    controls = load_controls(write(tmp_path))
    assert [s.id for s in controls.substances] == ["npp"]
    assert controls.listings[0].since.isoformat() == "2017-10-18"
    assert controls.rules[0].id == "piperidones"
    # the systematic name becomes a searchable synonym
    assert "1-(2-phenylethyl)piperidin-4-one" in controls.substance("npp").synonyms


def test_wrong_cas_check_digit_names_file_record_and_field(tmp_path: Path) -> None:
    bad = SUBSTANCE.replace("39742-60-4", "1609-66-5")
    err = load_error(write(tmp_path, substances=bad))
    assert str(err) == (
        "substances.yaml: record 1 (id 'npp'), field 'cas': item 0: "
        "CAS 1609-66-5 has a wrong check digit: 5 given, 1 expected")


def test_unparsable_smiles_is_reported(tmp_path: Path) -> None:
    err = load_error(write(tmp_path, substances=SUBSTANCE.replace("CCN(CC", "CCN((CC")))
    (problem,) = err.problems
    assert (problem.file, problem.record, problem.record_id, problem.field) == (
        "substances.yaml", 1, "npp", "smiles")
    assert "unparsable SMILES" in problem.message


def test_unknown_field_and_missing_field(tmp_path: Path) -> None:
    bad = SUBSTANCE.replace("  role: fentanyl precursor\n", "  rôle: fentanyl precursor\n")
    bad = bad.replace("  sources: [https://example.org/a]\n", "")
    err = load_error(write(tmp_path, substances=bad))
    found = {(p.field, p.message) for p in err.problems}
    assert ("rôle", "unknown field") in found
    assert ("sources", "required field is missing") in found


def test_unquoted_hs_code_is_a_type_error_not_a_silent_float(tmp_path: Path) -> None:
    err = load_error(write(tmp_path, substances=SUBSTANCE.replace('"2933.37"', "2933.37")))
    (problem,) = err.problems
    assert problem.field == "hs_code"
    assert "2933.37" in problem.message


def test_listing_of_unknown_substance_is_an_error(tmp_path: Path) -> None:
    err = load_error(write(tmp_path, listings=LISTING.replace("substance: npp", "substance: nppx")))
    assert str(err) == ("listings.yaml: record 1 (id 'nppx'), field 'substance': "
                        "unknown substance 'nppx' (not in the substance files)")


def test_bad_date_and_order_of_dates(tmp_path: Path) -> None:
    two = LISTING + LISTING.replace("since: 2017-10-18", "since: 2017-10-18\n  until: 2017-01-01")
    two += LISTING.replace("since: 2017-10-18", 'since: "18 Oct 2017"')
    err = load_error(write(tmp_path, listings=two))
    by_record = {p.record: p for p in err.problems}
    assert "'until' 2017-01-01 is not after 'since' 2017-10-18" in by_record[2].message
    assert by_record[3].field == "since"


def test_unknown_jurisdiction_names_the_value(tmp_path: Path) -> None:
    bad = LISTING.replace("jurisdiction: UN", "jurisdiction: UK")
    err = load_error(write(tmp_path, listings=bad))
    (problem,) = err.problems
    assert problem.field == "jurisdiction"
    assert "'UK'" in problem.message


def test_duplicate_substance_id(tmp_path: Path) -> None:
    err = load_error(write(tmp_path, substances=SUBSTANCE + SUBSTANCE.replace(
        "39742-60-4", "21409-26-7")))
    assert str(err) == ("substances.yaml: record 2 (id 'npp'), field 'id': "
                        "duplicate substance id 'npp' (first at record 1)")


def test_bad_smarts_and_unknown_parent_in_a_rule_file(tmp_path: Path) -> None:
    bad = RULE.replace('"O=C1CCNCC1"', '"O=C1CCN[CC1"') + "  parent: nosuch\n"
    err = load_error(write(tmp_path, rules=bad))
    fields = {p.field: p for p in err.problems}
    assert fields["smarts"].file == "rules/families.yaml"
    assert "does not compile" in fields["smarts"].message


def test_unknown_parent_in_a_rule(tmp_path: Path) -> None:
    err = load_error(write(tmp_path, rules=RULE + "  parent: nosuch\n"))
    assert str(err) == ("rules/families.yaml: record 1 (id 'piperidones'), field 'parent': "
                        "unknown parent substance 'nosuch' (not in the substance files)")


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    err = load_error(write(tmp_path, listings="- substance: [npp\n  since: 2017-10-18\n"))
    (problem,) = err.problems
    assert problem.file == "listings.yaml"
    assert "not valid YAML at line" in problem.message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    subs = SUBSTANCE.replace("39742-60-4", "39742-60-5")
    listings = LISTING.replace("substance: npp", "substance: ghost")
    err = load_error(write(tmp_path, substances=subs, listings=listings))
    assert {p.file for p in err.problems} == {"substances.yaml", "listings.yaml"}
    assert len(str(err).splitlines()) == len(err.problems) == 2


def test_missing_file_is_named(tmp_path: Path) -> None:
    write(tmp_path)
    (tmp_path / "listings.yaml").unlink()
    (problem,) = load_error(tmp_path).problems
    assert problem.file == "listings.yaml"
    assert "cannot read" in problem.message


def test_a_copy_of_the_bundled_data_loads_like_the_bundle(tmp_path: Path) -> None:
    shutil.copytree(DATA_DIR, tmp_path / "data")
    copy = load_controls(tmp_path / "data")
    bundled = load_controls()
    assert copy.substances == bundled.substances
    assert copy.listings == bundled.listings
    assert copy.rules == bundled.rules


def test_bundled_set_is_loaded_once() -> None:
    assert load_controls() is load_controls()


def test_one_structure_under_two_records_names_both(tmp_path: Path) -> None:
    """Two records of one structure would split its listings: a check finds one of them."""
    write(tmp_path)
    (tmp_path / "substances").mkdir()
    other = (SUBSTANCE.replace("id: npp", "id: phenethyl-piperidone")
             .replace('"O=C1CCN(CCc2ccccc2)CC1"', '"C1CC(=O)CCN1CCc1ccccc1"')
             .replace("39742-60-4", "21409-26-7"))
    (tmp_path / "substances" / "more.yaml").write_text(other, encoding="utf-8")
    (problem,) = load_error(tmp_path).problems
    assert (problem.file, problem.record, problem.record_id, problem.field) == (
        "substances/more.yaml", 1, "phenethyl-piperidone", "smiles")
    assert problem.message == (
        "same structure (InChIKey YDJXNYNKKXZBMP-UHFFFAOYSA-N) as substances.yaml record 1 "
        "(id 'npp'); merge them into one record")


def test_stereoisomers_are_distinct_records(tmp_path: Path) -> None:
    pair = """\
- id: ephedrine
  name: ephedrine
  smiles: "CN[C@@H](C)[C@H](O)c1ccccc1"
  sources: [https://example.org/a]
- id: pseudoephedrine
  name: pseudoephedrine
  smiles: "CN[C@@H](C)[C@@H](O)c1ccccc1"
  sources: [https://example.org/a]
"""
    controls = load_controls(write(tmp_path, substances=pair, listings="[]\n", rules=None))
    assert [s.id for s in controls.substances] == ["ephedrine", "pseudoephedrine"]


def test_citation_fields_reach_the_model(tmp_path: Path) -> None:
    listing = LISTING.replace("since: 2017-10-18", """since: 2017-10-18
  decided: 2017-03-16
  verification: secondary
  verification_reason: the instrument's own text is not online; INCB report quoted
  names:
    es: N-fenetil-4-piperidona
    en: N-phenethyl-4-piperidone
  threshold: {quantity: 1, unit: kg, reference: 21 CFR 1310.04}""")
    (x,) = load_controls(write(tmp_path, listings=listing)).listings
    assert (x.decided, x.verification) == (dt.date(2017, 3, 16), "secondary")
    assert x.verification_reason.startswith("the instrument's own text")
    assert x.names == (("en", "N-phenethyl-4-piperidone"), ("es", "N-fenetil-4-piperidona"))
    assert x.threshold is not None and (x.threshold.quantity, x.threshold.unit) == (1.0, "kg")


def test_unknown_verification_level_is_named(tmp_path: Path) -> None:
    bad = LISTING.replace("since: 2017-10-18", "since: 2017-10-18\n  verification: checked")
    (problem,) = load_error(write(tmp_path, listings=bad)).problems
    assert problem.field == "verification"
    assert "'checked'" in problem.message


def test_the_bundled_data_states_its_version_and_check_date() -> None:
    version = controls_data_version()
    assert version is not None
    assert version.checked <= dt.date.today()
    assert str(version) == f"control data {version.version}, checked {version.checked}"


def test_a_folder_without_about_has_no_version(tmp_path: Path) -> None:
    assert load_data_version(write(tmp_path)) is None


def test_a_bad_about_file_names_the_field(tmp_path: Path) -> None:
    write(tmp_path)
    (tmp_path / "about.yaml").write_text(
        'version: "November"\nchecked: 2026-11-30\nby: me\n', encoding="utf-8")
    with pytest.raises(ControlsDataError) as info:
        load_data_version(tmp_path)
    found = {(p.file, p.field) for p in info.value.problems}
    assert found == {("about.yaml", "version"), ("about.yaml", "by")}
    assert all(p.record is None for p in info.value.problems)


# ---------------------------------------------------------------- properties

import yaml  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from precursorwatch.chem.cas import CasError, parse_cas  # noqa: E402

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, width=32),
    st.text(max_size=12), st.dates(min_value=dt.date(1900, 1, 1)),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
FIELDS = st.sampled_from(["id", "name", "smiles", "cas", "sources", "hs_code", "synonyms",
                          "substance", "jurisdiction", "since", "until", "list", "x"])
RECORDS = st.lists(st.dictionaries(FIELDS, VALUES, max_size=6), max_size=3)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=RECORDS)
def test_any_malformed_substance_file_gives_a_data_error_never_a_crash(
        tmp_path: Path, records: list[dict[str, object]]) -> None:
    write(tmp_path, substances=yaml.safe_dump(records, allow_unicode=True), listings="[]\n",
          rules=None)
    try:
        load_controls(tmp_path)
    except ControlsDataError as err:
        assert all(p.file == "substances.yaml" and p.message for p in err.problems)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(listings=RECORDS, rules=RECORDS)
def test_any_malformed_listing_or_rule_file_gives_a_data_error_never_a_crash(
        tmp_path: Path, listings: list[dict[str, object]], rules: list[dict[str, object]]) -> None:
    write(tmp_path, listings=yaml.safe_dump(listings, allow_unicode=True),
          rules=yaml.safe_dump(rules, allow_unicode=True))
    try:
        load_controls(tmp_path)
    except ControlsDataError as err:
        assert {p.file for p in err.problems} <= {"listings.yaml", "rules/families.yaml"}


@given(digit=st.integers(0, 9))
def test_a_stored_cas_with_any_other_check_digit_is_rejected(digit: int) -> None:
    for sub in load_controls().substances:
        for cas in sub.cas:
            body, check = cas[:-1], int(cas[-1])
            if digit != check:
                with pytest.raises(CasError):
                    parse_cas(f"{body}{digit}")
