"""An English name that a listing also writes with accents (Canada's French "Éphédrine") is read
as English, without a note calling it a foreign name."""

from __future__ import annotations

import pytest

from precursorwatch.detect.check import Checker


@pytest.mark.parametrize("name", ["ephedrine", "acetone"])
def test_english_names_need_no_language_note(name: str) -> None:
    v = Checker.default().check(name)
    assert v.verdict == "controlled" and v.language == "en"
    assert not any("name '" in note for note in v.notes), v.notes


def test_a_spanish_name_still_says_so() -> None:
    v = Checker.default().check("efedrina")
    assert v.language == "es" and "Spanish name 'efedrina' (ephedrine)" in v.notes
