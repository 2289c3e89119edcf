"""CAS Registry Numbers: format and check digit.

A CAS number is 2-7 digits, 2 digits, 1 check digit: the check digit is the sum of every other
digit times its position counted from the right (starting at 1), modulo 10.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CAS_RE = re.compile(
    r"^\s*(?:CAS(?:\s*(?:No\.?|RN|Number|#))?\s*[:#]?\s*)?(\d{2,7})-(\d{2})-(\d)\s*$",
    re.IGNORECASE,
)
# Loose form seen in manifests: digits without hyphens are too ambiguous to accept here.
CAS_IN_TEXT = re.compile(r"(?<![\d-])(\d{2,7})-(\d{2})-(\d)(?![\d-])")


class CasError(ValueError):
    """A CAS number is malformed or its check digit is wrong; the message says which."""


@dataclass(frozen=True, slots=True)
class CasNumber:
    text: str  # normalised "NNNNNNN-NN-N"

    def __str__(self) -> str:
        return self.text


def check_digit(body: str) -> int:
    """The check digit for the digits before it (`body` without hyphens)."""
    return sum(int(d) * i for i, d in enumerate(reversed(body), start=1)) % 10


def looks_like_cas(text: str) -> bool:
    """True when the text has the shape of a CAS number (check digit not yet verified)."""
    # A CAS number has a hyphen and ends in its check digit: text without both (most SMILES
    # and names) is answered without the regular expression, whose every match allocates over
    # a kilobyte of working memory (between RDKit's many small allocations, a costly one).
    if "-" not in text or not text.rstrip()[-1:].isdigit():
        return False
    return _CAS_RE.match(text) is not None


def parse_cas(text: str) -> CasNumber:
    """Parse and verify a CAS number; raise CasError saying what is wrong."""
    m = _CAS_RE.match(text)
    if m is None:
        raise CasError(f"not a CAS number: {text.strip()[:40]!r} (expected digits-NN-N)")
    a, b, c = m.groups()
    expected = check_digit(a + b)
    if int(c) != expected:
        raise CasError(
            f"CAS {a}-{b}-{c} has a wrong check digit: {c} given, {expected} expected"
        )
    return CasNumber(f"{int(a)}-{b}-{c}")


def is_valid_cas(text: str) -> bool:
    try:
        parse_cas(text)
    except CasError:
        return False
    return True
