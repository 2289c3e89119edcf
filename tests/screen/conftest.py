"""Shared fixtures for the screening tests: real data paths and one Screener for the whole run."""

from __future__ import annotations

from pathlib import Path

import pytest

from precursorwatch.screen.engine import Screener, ScreenOptions, screener_for

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO / ".." / "shared" / "data"
SAMPLE_MANIFEST = REPO / "precursorwatch" / "samples" / "manifest.csv"


@pytest.fixture(scope="session")
def screener() -> Screener:
    return screener_for(ScreenOptions())


@pytest.fixture(scope="session")
def sdn_dir() -> Path:
    path = SHARED_DATA / "ofac-sdn-2021"
    if not (path / "sdn.csv").is_file():
        pytest.skip("shared OFAC snapshot not present beside the checkout")
    return path


@pytest.fixture(scope="session")
def un_xml() -> Path:
    path = SHARED_DATA / "un-consolidated" / "UN_consolidated.xml"
    if not path.is_file():
        pytest.skip("shared UN consolidated list not present beside the checkout")
    return path
