"""Country names and codes as manifests and watchlists write them, folded to ISO 3166 alpha-2.

The names come from `countrynames` (the table FollowTheMoney and OpenSanctions use): English,
Spanish, Chinese and many other languages, ISO alpha-2 and alpha-3 codes, and the inverted forms
of the sanctions lists ("KOREA, NORTH", "Virgin Islands, British").
"""

from __future__ import annotations

from functools import lru_cache

import countrynames


@lru_cache(maxsize=10_000)
def country_code(text: str) -> str:
    """ISO alpha-2 for a country name or code; the upper-cased text when not recognised."""
    t = text.strip()
    if not t:
        return ""
    code = countrynames.to_code(t)
    if code is not None:
        return code.upper()
    return t.upper()
