"""Country names and codes as manifests and watchlists write them, folded to ISO 3166 alpha-2.

The names come from `countrynames` (the table FollowTheMoney and OpenSanctions use): English,
Spanish, Chinese and many other languages, ISO alpha-2 and alpha-3 codes, and the inverted forms
of the sanctions lists ("KOREA, NORTH", "Virgin Islands, British").
"""

from __future__ import annotations

from functools import lru_cache

import countrynames

from precursorwatch.screen.diskcache import cached, code_version


def _load_names() -> None:
    # countrynames normalises its 27,000 names on first use (about a second); its table is
    # read back from the user's cache instead, keyed by the package versions.
    if not countrynames.COUNTRY_NAMES:
        countrynames.COUNTRY_NAMES.update(cached(
            "countrynames", code_version([], ["countrynames", "normality"]),
            countrynames._load_data))


@lru_cache(maxsize=10_000)
def country_code(text: str) -> str:
    """ISO alpha-2 for a country name or code; the upper-cased text when not recognised."""
    t = text.strip()
    if not t:
        return ""
    _load_names()
    code = countrynames.to_code(t)
    if code is not None:
        return code.upper()
    return t.upper()
