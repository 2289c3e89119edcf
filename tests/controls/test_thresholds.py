"""Quantity thresholds: from the listing file to the verdict's evidence and the screening note."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from precursorwatch.controls.load import ControlsDataError, load_controls
from precursorwatch.controls.model import Threshold, threshold_reached
from precursorwatch.detect.check import Checker
from precursorwatch.screen.config import load_rule_config
from precursorwatch.screen.model import Shipment
from precursorwatch.screen.rules import ChemicalFinding, Evidence, controlled_chemical

SUBSTANCES = """\
- id: piperidine
  name: piperidine
  smiles: "C1CCNCC1"
  cas: ["110-89-4"]
  sources: [https://www.ecfr.gov/current/title-21/section-1310.02]
"""
LISTINGS = """\
- substance: piperidine
  jurisdiction: US
  list: List I (21 CFR 1310.02)
  category: List I
  since: 1988-11-18
  legal_reference: 21 CFR 1310.02(a)(11)
  source: https://www.ecfr.gov/current/title-21/section-1310.02
  verification: primary
  threshold:
    quantity: 500
    unit: g
    basis: import and export, per transaction
    reference: 21 CFR 1310.04(f)(1)
- substance: piperidine
  jurisdiction: UN
  list: 1988 Convention Table II
  category: Table II
  since: 1990-11-11
  legal_reference: 1988 Convention, Table II
  source: https://www.unodc.org/pdf/convention_1988_en.pdf
"""


def data_dir(tmp_path: Path, listings: str = LISTINGS) -> Path:
    (tmp_path / "substances.yaml").write_text(SUBSTANCES, encoding="utf-8")
    (tmp_path / "listings.yaml").write_text(textwrap.dedent(listings), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(("quantity", "unit", "reached"), [
    (500, "g", True), (0.5, "kg", True), (499, "g", False), (0.4999, "KG", False),
    (2, "lbs", True), (1, "t", True), (400000, "mg", False),
    (1, "L", None), (3, "drums", None),
])
def test_quantity_against_a_mass_threshold(quantity: float, unit: str,
                                           reached: bool | None) -> None:
    assert threshold_reached(Threshold(500, "g"), quantity, unit) is reached


def test_volume_and_gallon_thresholds() -> None:
    fifty_gallons = Threshold(50, "gal")
    assert threshold_reached(fifty_gallons, 190, "L") is True  # 50 gal = 189.27 L
    assert threshold_reached(fifty_gallons, 189, "L") is False
    assert threshold_reached(fifty_gallons, 50, "kg") is None  # no density guessed


@given(grams=st.floats(min_value=0.001, max_value=1e7, allow_nan=False))
def test_the_same_amount_in_grams_or_kilograms_gives_the_same_answer(grams: float) -> None:
    limit = Threshold(1.0, "kg")
    assert threshold_reached(limit, grams, "g") == threshold_reached(limit, grams / 1000, "kg")


def test_threshold_travels_from_the_file_to_the_verdict(tmp_path: Path) -> None:
    checker = Checker(load_controls(data_dir(tmp_path)), use_opsin=False)
    verdict = checker.check("110-89-4", as_of=dt.date(2026, 1, 1))
    by_place = {m.jurisdiction: m for m in verdict.matches}
    us = by_place["US"]
    assert us.verification == "primary"
    assert us.threshold is not None
    assert (us.threshold.quantity, us.threshold.unit) == (500, "g")
    assert us.threshold.reference == "21 CFR 1310.04(f)(1)"
    assert threshold_reached(us.threshold, 0.2, "kg") is False
    un = by_place["UN"]
    assert un.threshold is None and un.verification == "unverified"
    # The evidence the exchange stores is the verdict's JSON: the threshold is in it.
    dumped = verdict.model_dump(mode="json")["matches"]
    assert {"quantity": 500.0, "unit": "g", "basis": "import and export, per transaction",
            "reference": "21 CFR 1310.04(f)(1)"} in [m["threshold"] for m in dumped]


def test_screening_notes_a_quantity_below_the_threshold(tmp_path: Path) -> None:
    checker = Checker(load_controls(data_dir(tmp_path)), use_opsin=False)
    verdict = checker.check("piperidine", as_of=dt.date(2026, 1, 1))
    finding = ChemicalFinding(
        mention="piperidine", found_by="name", verdict=verdict.verdict, name="piperidine",
        inchikey=verdict.inchikey or "", substances=("piperidine",), hs_codes=(),
        contract=verdict.model_dump(mode="json"))
    cfg = load_rule_config()

    def detail(quantity: float, unit: str, kg: float | None) -> str | None:
        s = Shipment(row=1, shipment_id="S1", description="piperidine", quantity=quantity,
                     unit=unit, quantity_kg=kg)
        return controlled_chemical(s, Evidence(chemicals=(finding,)), cfg)

    small = detail(200, "g", 0.2)
    assert small is not None and small.startswith("controlled: piperidine")
    assert ("quantity 200 g of piperidine below the US List I threshold of 500 g "
            "(import and export, per transaction; 21 CFR 1310.04(f)(1))") in small
    large = detail(25, "kg", 25.0)
    assert large is not None and "below" not in large
    assert "below" not in (detail(3, "drums", None) or "")


def test_a_threshold_in_an_unknown_unit_is_refused(tmp_path: Path) -> None:
    bad = LISTINGS.replace("unit: g", "unit: pounds")
    with pytest.raises(ControlsDataError) as info:
        load_controls(data_dir(tmp_path, bad))
    (problem,) = info.value.problems
    assert problem.field == "threshold.unit"
    assert problem.record == 1
