"""Country names and codes as manifests and watchlists write them, folded to ISO 3166 alpha-2."""

from __future__ import annotations

import re
from functools import lru_cache

# Names as written on manifests and in the OFAC/UN lists; the codes are ISO 3166-1 alpha-2.
_NAMES: dict[str, str] = {
    "china": "CN", "peoples republic of china": "CN", "prc": "CN", "pr china": "CN",
    "hong kong": "HK", "hong kong sar": "HK", "macau": "MO", "macao": "MO", "taiwan": "TW",
    "india": "IN", "pakistan": "PK", "bangladesh": "BD", "vietnam": "VN", "viet nam": "VN",
    "thailand": "TH", "burma": "MM", "myanmar": "MM", "laos": "LA", "cambodia": "KH",
    "malaysia": "MY", "singapore": "SG", "indonesia": "ID", "philippines": "PH",
    "south korea": "KR", "korea south": "KR", "republic of korea": "KR", "korea": "KR",
    "north korea": "KP", "japan": "JP", "mexico": "MX", "united states": "US",
    "united states of america": "US", "usa": "US", "us": "US", "canada": "CA",
    "guatemala": "GT", "honduras": "HN", "el salvador": "SV", "belize": "BZ",
    "panama": "PA", "colombia": "CO", "venezuela": "VE", "ecuador": "EC", "peru": "PE",
    "bolivia": "BO", "brazil": "BR", "argentina": "AR", "chile": "CL", "paraguay": "PY",
    "uruguay": "UY", "costa rica": "CR", "nicaragua": "NI", "dominican republic": "DO",
    "cuba": "CU", "jamaica": "JM", "haiti": "HT", "united kingdom": "GB", "uk": "GB",
    "great britain": "GB", "germany": "DE", "france": "FR", "spain": "ES", "italy": "IT",
    "netherlands": "NL", "belgium": "BE", "switzerland": "CH", "austria": "AT",
    "poland": "PL", "russia": "RU", "russian federation": "RU", "ukraine": "UA",
    "turkey": "TR", "turkiye": "TR", "united arab emirates": "AE", "uae": "AE",
    "saudi arabia": "SA", "iran": "IR", "iraq": "IQ", "syria": "SY", "lebanon": "LB",
    "israel": "IL", "jordan": "JO", "egypt": "EG", "nigeria": "NG", "south africa": "ZA",
    "kenya": "KE", "afghanistan": "AF", "australia": "AU", "new zealand": "NZ",
    "virgin islands british": "VG", "british virgin islands": "VG", "fiji": "FJ",
    "st kitts and nevis": "KN", "democratic republic of the congo": "CD",
}
_FOLD = re.compile(r"[^a-z ]+")


@lru_cache(maxsize=10_000)
def country_code(text: str) -> str:
    """ISO alpha-2 for a country name or code; the upper-cased text when not recognised."""
    t = text.strip()
    if not t:
        return ""
    if len(t) == 2 and t.isalpha():
        return t.upper()
    folded = " ".join(_FOLD.sub(" ", t.lower().replace(",", " ")).split())
    if folded in _NAMES:
        return _NAMES[folded]
    # "Korea, South" and "Virgin Islands, British" fold with the comma removed above.
    return t.upper()
