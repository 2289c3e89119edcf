"""The bundled control data keeps its promises: every entry has the date it came into force, a
source that a lawyer can open (the instrument itself, or a citation that says it is not), and
text that speaks of the law, not of how the data was put together.

These tests read the files as they are, whatever they hold; each failure lists every offending
record by file and position, so a data change can be fixed in one pass.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from precursorwatch.controls.load import DATA_DIR, load_controls
from precursorwatch.controls.model import is_primary_source, source_domain

# 1988 Convention, art. 12(6): a change to Table I or II takes effect for each Party 180 days
# after the Secretary-General's communication, which follows the Commission's decision.
TABLE_CHANGE_DELAY = dt.timedelta(days=180)


@dataclass(frozen=True)
class Entry:
    """One listing or rule record as written in its file."""

    file: str
    position: int
    fields: dict[str, Any]

    @property
    def where(self) -> str:
        rid = self.fields.get("id") or self.fields.get("substance") or "?"
        jur = self.fields.get("jurisdiction", "")
        return f"{self.file}: record {self.position} ({rid}, {jur} {self.fields.get('list', '')})"


def _records(folder: str, single: str) -> Iterator[Entry]:
    paths = [DATA_DIR / single] if (DATA_DIR / single).exists() else []
    if (DATA_DIR / folder).is_dir():
        paths += sorted((DATA_DIR / folder).glob("*.yaml"))
    for path in paths:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        for pos, item in enumerate(raw, start=1):
            if isinstance(item, dict):
                yield Entry(str(path.relative_to(DATA_DIR)), pos, item)


LISTINGS = list(_records("listings", "listings.yaml"))
RULES = list(_records("rules", "rules.yaml"))
ENTRIES = LISTINGS + RULES


def _report(offenders: list[str], what: str, unit: str = "record") -> str:
    return f"{len(offenders)} {unit}(s) {what}:\n  " + "\n  ".join(offenders)


def test_the_data_is_there_and_loads() -> None:
    controls = load_controls()
    assert len(LISTINGS) == len(controls.listings) > 0
    assert len(RULES) == len(controls.rules) > 0


def test_every_listing_and_rule_has_the_date_it_came_into_force() -> None:
    offenders = [e.where for e in ENTRIES if not isinstance(e.fields.get("since"), dt.date)]
    assert not offenders, _report(offenders, "without an in-force date `since`")


_ONE_ADDRESS = re.compile(r"https?://[^\s;,]+")


def test_every_source_is_one_web_address() -> None:
    """A reader follows `source` to the text: one address, nothing else (a second address or
    a remark belongs in `note` or `verification_reason`)."""
    offenders = [f"{e.where}: {e.fields.get('source')!r}" for e in ENTRIES
                 if not _ONE_ADDRESS.fullmatch(str(e.fields.get("source", "")).strip())]
    assert not offenders, _report(offenders, "whose source is not one web address")


def test_a_source_off_the_primary_publishers_says_so_and_why() -> None:
    offenders = []
    for e in ENTRIES:
        source = str(e.fields.get("source", ""))
        if is_primary_source(source):
            continue
        level = e.fields.get("verification", "unverified")
        reason = str(e.fields.get("verification_reason", "")).strip()
        if level == "primary" or not reason:
            host = source_domain(source) or "no address"
            offenders.append(f"{e.where}: source {source!r} ({host}), verification {level!r}, "
                             f"reason {reason[:40]!r}")
    assert not offenders, _report(
        offenders, "citing a source that is not a primary publisher's without `verification` "
        "secondary or unverified and a `verification_reason`")


def test_primary_verification_cites_a_primary_publisher() -> None:
    offenders = [f"{e.where}: {e.fields.get('source')!r}" for e in ENTRIES
                 if e.fields.get("verification") == "primary"
                 and not is_primary_source(str(e.fields.get("source", "")))]
    assert not offenders, _report(offenders, "marked primary with a source that is not")


def test_anything_short_of_primary_says_why() -> None:
    offenders = [f"{e.where}: {e.fields.get('verification', 'unverified')}" for e in ENTRIES
                 if e.fields.get("verification", "unverified") != "primary"
                 and not str(e.fields.get("verification_reason", "")).strip()]
    assert not offenders, _report(offenders, "not primary and without a `verification_reason`")


# The language in which each jurisdiction's instrument is cited (Canada's is bilingual: English
# at least; the EU's in every official language: English is cited).
INSTRUMENT_LANGUAGE = {"UN": "en", "US": "en", "EU": "en", "CA": "en", "MX": "es", "CN": "zh"}


def test_every_listing_gives_the_name_the_instrument_uses() -> None:
    """A customs officer compares the goods with the text of the law: the listing quotes the
    substance's name as that text writes it, in its language."""
    offenders = [f"{e.where}: names {e.fields.get('names')!r}" for e in LISTINGS
                 if not str((e.fields.get("names") or {}).get(
                     INSTRUMENT_LANGUAGE.get(str(e.fields.get("jurisdiction")), "en"), "")).strip()
                 and not _says_the_names_were_not_seen(e.fields)]
    assert not offenders, _report(offenders, "without the name as the instrument writes it")


def _says_the_names_were_not_seen(fields: dict[str, object]) -> bool:
    """A listing cited only to a report of the instrument may lack the instrument's own
    wording, if its verification says so: a name is never made up."""
    reason = str(fields.get("verification_reason", ""))
    return (fields.get("verification") != "primary"
            and re.search(r"not (?:been )?seen.*\bnames?\b|\bnames?\b.*not (?:been )?seen",
                          reason) is not None)


def test_a_threshold_names_the_provision_that_sets_it() -> None:
    """A quantity threshold changes what a shipment needs; the evidence must show its source."""
    offenders = [f"{e.where}: {e.fields['threshold']!r}" for e in LISTINGS
                 if isinstance(e.fields.get("threshold"), dict)
                 and not str(e.fields["threshold"].get("reference", "")).strip()]
    assert not offenders, _report(offenders, "with a threshold without its `reference`")


def test_a_decision_date_is_not_used_as_the_in_force_date() -> None:
    """`decided` is recorded only where it differs from `since`; for the 1988 Convention's
    Tables the in-force date is at least 180 days after the decision (art. 12(6))."""
    offenders = []
    for e in ENTRIES:
        decided, since = e.fields.get("decided"), e.fields.get("since")
        if not isinstance(decided, dt.date) or not isinstance(since, dt.date):
            continue
        if decided == since:
            offenders.append(f"{e.where}: decided {decided} equals since")
        elif (e.fields.get("jurisdiction") == "UN" and "Table" in str(e.fields.get("list", ""))
              and since - decided < TABLE_CHANGE_DELAY):
            offenders.append(f"{e.where}: since {since} is less than 180 days after the "
                             f"decision of {decided}")
    assert not offenders, _report(offenders, "using a decision date as the in-force date")


# Words that speak of how the data was compiled, not of the law. Matched case-insensitively,
# except UNVERIFIED, which is wrong only as a shouted marker (`verification` says it now).
_MAKING = re.compile(
    r"UNVERIFIED|(?i:\bthe issue\b|\bdomain facts\b|\b3rd[- ]party\b|\bLE OSINT\b"
    r"|\bcode-index file\b|\bthe brief\b)")
# A bare "§" points into working notes; after U.S.C. or CFR it is a legal citation.
_SECTION = re.compile(r"(?<!U\.S\.C\. )(?<!U\.S\.C\.)(?<!CFR )(?<!C\.F\.R\. )§")
# A session of the Commission on Narcotic Drugs ("65th session", "the last day of the session")
# is legal language; a working session ("this session", "an earlier session") is not.
_SESSION = re.compile(
    r"\b(this|our|previous|earlier|current|later|next|working|work|editing|research) sessions?\b",
    re.IGNORECASE)


def _making_words(line: str) -> list[str]:
    found = [m.group(0) for m in _MAKING.finditer(line)]
    found += ["§" for _ in _SECTION.finditer(line)]
    found += [m.group(0) for m in _SESSION.finditer(line)]
    return found


DATA_FILES = sorted([*DATA_DIR.rglob("*.yaml"), DATA_DIR / "README.md"])


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: str(p.relative_to(DATA_DIR)))
def test_no_word_about_how_the_data_was_made(path: Path) -> None:
    offenders = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if words := _making_words(line):
            offenders.append(f"line {number}: {', '.join(dict.fromkeys(words))}: "
                             f"{line.strip()[:100]}")
    assert not offenders, _report(offenders, f"in {path.relative_to(DATA_DIR)} speaking of how "
                                  "the data was made", unit="line")


@pytest.mark.parametrize(("line", "words"), [
    ("note: date UNVERIFIED (see the listing)", ["UNVERIFIED"]),
    ("source: code-index file 7137 (LE OSINT Framework, 3rd-party)",
     ["code-index file", "LE OSINT", "3rd-party"]),
    ("note: per domain facts §3", ["domain facts", "§"]),
    ("note: as the issue says", ["the issue"]),
    ("note: found in this session", ["this session"]),
    ("note: an earlier session had the wrong date", ["earlier session"]),
    ("legal_reference: CND decisions 65/4-6 (65th session, 14-18 March 2022)", []),
    ("note: decided at the 35th session of the Commission", []),
    ("note: the last day of the session is used", []),
    ("legal_reference: 21 U.S.C. § 802(34); 21 CFR § 1310.02", []),
    ("verification: unverified", []),
])
def test_the_word_check_itself(line: str, words: list[str]) -> None:
    assert _making_words(line) == words
