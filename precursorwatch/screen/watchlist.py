"""Watchlists (OFAC SDN CSV, UN consolidated XML, FollowTheMoney JSON) and party matching.

Every list is read into the same `WatchlistEntry` records. `PartyMatcher` compares party names
with `names.name_similarity` after a fast pre-selection over all listed names and aliases
(rapidfuzz over the distinctive words, names sharing a distinctive word, and names with a word
one letter apart through an index of one-letter deletions), and uses the country and the kind
of party as qualifiers: a known, different country, or a company's name against a listed
person (and a person-shaped name against a listed company's name), lowers the score a little
and never creates a match on its own. A listed city found in the party's address is
named in the evidence (`city_in_address`): it corroborates, it never creates a match either.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
from anyascii import anyascii
from rapidfuzz import fuzz, process

from precursorwatch.screen.countries import country_code
from precursorwatch.screen.diskcache import cached, code_version, file_fingerprint, no_gc
from precursorwatch.screen.model import PartyHit
from precursorwatch.screen.names import NormName, is_syllable, name_similarity, normalise_name

COUNTRY_MISMATCH_FACTOR = 0.9
# A company's name against a listed person, or a bare name against a listed company name.
KIND_MISMATCH_FACTOR = 0.9
_PRESELECT_CUTOFF = 65
_PRESELECT_TOP = 40
_COMMON_TOKEN = 200
# Ships and aircraft are listed by name but are never a shipper or consignee.
_NOT_PARTIES = frozenset({"vessel", "aircraft"})
_PRESELECT_CHUNK = 256
# Names found only through a word one letter apart: the best this many, by words so found.
_NEIGHBOUR_TOP = 40
_EMPTY = "-0-"


class WatchlistError(ValueError):
    """A watchlist file cannot be read; the message names the file and why."""


@dataclass(frozen=True, slots=True)
class WatchlistEntry:
    """One listed person, company, organisation or vessel, with every name it is known by."""

    list: str  # e.g. "OFAC SDN", "UN Consolidated", "OpenSanctions"
    entry_id: str
    name: str
    aliases: tuple[str, ...] = ()
    programmes: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()  # ISO alpha-2 where recognised
    kind: str = "entity"  # individual | entity | vessel | aircraft
    cities: tuple[str, ...] = ()  # of its listed addresses, as `city_key` gives them


def city_key(text: str) -> str:
    """A city as written in a list's address field ("Shanghai 200233", "Zurich CH-8022",
    "London EC3N 1DY"), folded for comparison: ASCII, lower case, postal codes dropped."""
    first = anyascii(text.split(",")[0])
    kept = [w for w in first.split() if not any(ch.isdigit() for ch in w)]  # postal codes
    return " ".join(re.split(r"[^a-z]+", " ".join(kept).lower())).strip()


def party_hits(role: str, name: str, address: str, hits: Iterable[WatchlistHit]
               ) -> list[PartyHit]:
    """A party's watchlist hits as evidence, best first: of equal scores, the entry whose listed
    city the address names comes first, and the detail says so."""
    found = [(h, city_in_address(h.entry, address)) for h in hits]
    found.sort(key=lambda hc: (-hc[0].score, not hc[1], hc[0].entry.entry_id))
    out = []
    for h, city in found:
        detail = h.detail + (f"; city agrees ({city.title()})" if city else "")
        if h.alias != h.entry.name:
            detail += f"; matched alias {h.alias!r}"
        out.append(PartyHit(role, name, h.entry.list, h.entry.name, h.entry.entry_id, h.alias,
                            h.entry.programmes, h.score, detail))
    return out


def city_in_address(entry: WatchlistEntry, address: str) -> str:
    """The first of the entry's cities that the address names as whole words, or ""."""
    if not entry.cities or not address:
        return ""
    folded = " " + " ".join(re.split(r"[^a-z0-9]+", anyascii(address).lower())) + " "
    return next((c for c in entry.cities if f" {c} " in folded), "")


@dataclass(frozen=True, slots=True)
class WatchlistHit:
    entry: WatchlistEntry
    alias: str
    score: float
    detail: str


# -- OFAC SDN (legacy CSV: sdn.csv, add.csv, alt.csv) ----------------------------------------
def _ofac_field(value: str) -> str:
    v = value.strip()
    return "" if v == _EMPTY else v


def _read_ofac_csv(path: Path) -> Iterator[list[str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    for row in csv.reader(io.StringIO(text)):
        if len(row) >= 2 and row[0].strip().isdigit():
            yield row  # the file ends with a control character (EOF marker): skip it


def load_ofac_sdn(path: str | Path) -> list[WatchlistEntry]:
    """The OFAC SDN list in its published CSV layout; `path` is sdn.csv or its folder.

    add.csv (addresses, for countries) and alt.csv (aliases) are read when beside it.
    """
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    sdn = p / "sdn.csv" if p.is_dir() else p
    if not sdn.is_file():
        raise WatchlistError(f"{sdn}: no OFAC sdn.csv here")
    countries: dict[str, list[str]] = {}
    cities: dict[str, list[str]] = {}
    if (folder / "add.csv").is_file():
        for row in _read_ofac_csv(folder / "add.csv"):
            if len(row) > 4 and (c := _ofac_field(row[4])):
                countries.setdefault(row[0].strip(), []).append(country_code(c))
            if len(row) > 3 and (city := city_key(_ofac_field(row[3]))):
                cities.setdefault(row[0].strip(), []).append(city)
    aliases: dict[str, list[str]] = {}
    if (folder / "alt.csv").is_file():
        for row in _read_ofac_csv(folder / "alt.csv"):
            if len(row) > 3 and (a := _ofac_field(row[3])):
                aliases.setdefault(row[0].strip(), []).append(a)
    entries = []
    for row in _read_ofac_csv(sdn):
        if len(row) < 4:
            raise WatchlistError(f"{sdn}: entry {row[0]} has {len(row)} fields, expected 12")
        ent = row[0].strip()
        name = _ofac_field(row[1])
        kind = _ofac_field(row[2]).lower() or "entity"
        programmes = tuple(p.strip() for p in re.split(r"\]\s*\[", _ofac_field(row[3]))
                           if p.strip())
        remarks = _ofac_field(row[11]) if len(row) > 11 else ""
        extra = re.findall(r"a\.k\.a\. '([^']+)'", remarks)
        cs = list(dict.fromkeys(countries.get(ent, [])))
        for pob in re.findall(r"(?:POB|nationality|citizen) ([A-Za-z ,]+?)(?:;|\.|$)", remarks):
            code = country_code(pob.split(",")[-1])
            if len(code) == 2 and code not in cs:
                cs.append(code)
        entries.append(WatchlistEntry(
            list="OFAC SDN", entry_id=ent, name=name,
            aliases=tuple(dict.fromkeys([*aliases.get(ent, []), *extra])),
            programmes=programmes, countries=tuple(cs), kind=kind,
            cities=tuple(dict.fromkeys(cities.get(ent, []))),
        ))
    return entries


# -- UN Security Council consolidated list (XML) ---------------------------------------------
def load_un_consolidated(path: str | Path) -> list[WatchlistEntry]:
    """The UN consolidated sanctions list XML (INDIVIDUALS and ENTITIES)."""
    p = Path(path)
    try:
        root = ET.parse(p).getroot()
    except (ET.ParseError, OSError) as exc:
        raise WatchlistError(f"{p}: not a readable UN consolidated list XML: {exc}") from exc
    entries = []
    for kind, tag in (("individual", "INDIVIDUAL"), ("entity", "ENTITY")):
        for node in root.iter(tag):
            parts = [(node.findtext(f) or "").strip() for f in
                     ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")]
            name = " ".join(x for x in parts if x)
            if not name:
                continue
            aliases = [(a.findtext("ALIAS_NAME") or "").strip()
                       for a in node.iter(f"{tag}_ALIAS")]
            if original := (node.findtext("NAME_ORIGINAL_SCRIPT") or "").strip():
                aliases.append(original)
            cs = [country_code(c.text or "") for c in node.iter("COUNTRY")
                  if (c.text or "").strip()]
            cs += [country_code(v.text or "") for n in node.iter("NATIONALITY")
                   for v in n.iter("VALUE") if (v.text or "").strip()]
            cities = [city_key(c.text or "") for a in node.iter(f"{tag}_ADDRESS")
                      for c in a.iter("CITY")]
            entries.append(WatchlistEntry(
                list="UN Consolidated",
                entry_id=(node.findtext("REFERENCE_NUMBER") or node.findtext("DATAID") or "")
                .strip(),
                name=name, aliases=tuple(dict.fromkeys(a for a in aliases if a)),
                programmes=tuple(x for x in [(node.findtext("UN_LIST_TYPE") or "").strip()]
                                 if x),
                countries=tuple(dict.fromkeys(c for c in cs if c)), kind=kind,
                cities=tuple(dict.fromkeys(c for c in cities if c)),
            ))
    return entries


# -- FollowTheMoney entities (OpenSanctions JSON / JSON lines) --------------------------------
_FTM_KINDS = {"Person": "individual", "Vessel": "vessel", "Airplane": "aircraft"}
_FTM_SCHEMATA = {"Person", "Company", "Organization", "LegalEntity", "Vessel", "Airplane",
                 "PublicBody"}


def _ftm_objects(path: Path) -> Iterator[dict[str, object]]:
    text = path.read_text(encoding="utf-8-sig")
    stripped = text.lstrip()
    if stripped.startswith("["):
        data = json.loads(text)
        yield from (d for d in data if isinstance(d, dict))
        return
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise WatchlistError(f"{path}: line {n} is not JSON: {exc.msg}") from exc
            if isinstance(obj, dict):
                yield obj


def load_ftm(path: str | Path, list_name: str = "OpenSanctions") -> list[WatchlistEntry]:
    """FollowTheMoney entities (one JSON object a line, or a JSON array), as OpenSanctions
    publishes them: `{"id", "schema", "properties": {"name": [...], "alias": [...], ...}}`."""
    p = Path(path)
    entries = []
    try:
        objects = list(_ftm_objects(p))
    except (OSError, json.JSONDecodeError) as exc:
        raise WatchlistError(f"{p}: not readable FollowTheMoney JSON: {exc}") from exc
    for obj in objects:
        schema = str(obj.get("schema", ""))
        props = obj.get("properties")
        if schema not in _FTM_SCHEMATA or not isinstance(props, dict):
            continue

        def values(*keys: str, props: dict[str, object] = props) -> list[str]:
            out: list[str] = []
            for k in keys:
                v = props.get(k)
                if isinstance(v, list):
                    out.extend(str(x) for x in v if str(x).strip())
            return out

        names = values("name")
        if not names:
            continue
        datasets = obj.get("datasets")
        programmes = values("program", "programId") or (
            [str(d) for d in datasets] if isinstance(datasets, list) else [])
        entries.append(WatchlistEntry(
            list=list_name, entry_id=str(obj.get("id", "")), name=names[0],
            aliases=tuple(dict.fromkeys([*names[1:], *values("alias", "previousName",
                                                              "weakAlias")])),
            programmes=tuple(dict.fromkeys(programmes)),
            countries=tuple(dict.fromkeys(country_code(c) for c in values(
                "country", "nationality", "jurisdiction", "citizenship"))),
            kind=_FTM_KINDS.get(schema, "entity"),
        ))
    return entries


def load_watchlist(path: str | Path) -> list[WatchlistEntry]:
    """Any supported watchlist, told apart by name and extension."""
    p = Path(path)
    if p.is_dir() and (p / "sdn.csv").is_file():
        return load_ofac_sdn(p)
    if not p.is_file():
        raise WatchlistError(f"{p}: no such watchlist file")
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return load_ofac_sdn(p)
    if suffix == ".xml":
        return load_un_consolidated(p)
    if suffix in (".json", ".jsonl", ".ndjson", ".ftm"):
        return load_ftm(p)
    raise WatchlistError(f"{p}: unknown watchlist format; use OFAC sdn.csv, UN consolidated "
                         ".xml or FollowTheMoney .json/.jsonl")


def bundled_watchlist_path() -> Path:
    """The bundled excerpt of OFAC SDN (SDNTK entries of the July 2021 snapshot)."""
    return Path(str(files("precursorwatch.screen") / "data" / "sdntk_excerpt" / "sdn.csv"))


# -- matching ---------------------------------------------------------------------------------
def _preselect_key(n: NormName) -> str:
    strong = [t for t, w in zip(n.tokens, n.weights, strict=True) if w > 0.2]
    return " ".join(strong or n.tokens)


@lru_cache(maxsize=200_000)
def _neighbourhood(token: str) -> frozenset[str]:
    """The word and its one-letter deletions (SymSpell): two words one letter lost, added,
    changed or two letters swapped apart share one of them ("aturn" / "saturn",
    "jeong" / "jong", "icmex" / "cimex")."""
    if len(token) < 3:
        return frozenset((token,))
    return frozenset((token, *(token[:i] + token[i + 1:] for i in range(len(token)))))


def _kind_mismatch(query: NormName, listed: NormName, entry: WatchlistEntry) -> str:
    """Why the party's name and the listed entry look like different kinds of party, or ""."""
    if query.organisation and entry.kind == "individual":
        return "a company's name against a listed individual"
    if not query.organisation and listed.organisation and entry.kind != "individual" and (
            "," in query.original or all(is_syllable(t) for t in query.significant)):
        # Only a name shaped like a person's ("SURNAME, Given", "Kai Cai"): a company's trade
        # name written without its legal form ("Saturn Oasis") is common on manifests.
        return "a person's name against a listed company's name"
    return ""


class PartyMatcher:
    """Matches party names against watchlist entries (all names and aliases)."""

    def __init__(self, entries: Iterable[WatchlistEntry]) -> None:
        self.entries: list[WatchlistEntry] = list(entries)
        self._names: list[NormName] = []
        self._owner: list[int] = []
        for i, e in enumerate(self.entries):
            if e.kind in _NOT_PARTIES:
                continue
            for text in dict.fromkeys((e.name, *e.aliases)):
                self._names.append(normalise_name(text))
                self._owner.append(i)
        self._keys = [_preselect_key(n) for n in self._names]
        # Names sharing a distinctive word are candidates whatever the rest of the name says.
        index: dict[str, list[int]] = {}
        for j, n in enumerate(self._names):
            for t in set(n.significant):
                index.setdefault(t, []).append(j)
        self._token_index = {t: js for t, js in index.items() if len(js) <= _COMMON_TOKEN}
        near: dict[str, list[int]] = {}
        for j, n in enumerate(self._names):
            for key in frozenset().union(*map(_neighbourhood, n.significant)):
                near.setdefault(key, []).append(j)
        self._near_index = {k: js for k, js in near.items() if len(js) <= _COMMON_TOKEN}

    def __len__(self) -> int:
        return len(self.entries)

    def match_many(self, parties: Sequence[tuple[str, str]], threshold: float
                   ) -> list[list[WatchlistHit]]:
        """For each (name, country): the entries scoring at least `threshold`, best first."""
        out: list[list[WatchlistHit]] = [[] for _ in parties]
        if not self._keys:
            return out
        norms = [normalise_name(name) for name, _ in parties]
        keys = [_preselect_key(n) for n in norms]
        for lo in range(0, len(parties), _PRESELECT_CHUNK):
            block = keys[lo:lo + _PRESELECT_CHUNK]
            scores = process.cdist(block, self._keys, scorer=fuzz.token_sort_ratio,
                                   score_cutoff=_PRESELECT_CUTOFF, dtype=np.uint8, workers=1)
            for bi, row in enumerate(scores):
                i = lo + bi
                if not keys[i]:
                    continue
                found = np.nonzero(row)[0]
                if len(found) > _PRESELECT_TOP:
                    found = found[np.argsort(-row[found], kind="stable")[:_PRESELECT_TOP]]
                shared = {j for t in norms[i].significant for j in self._token_index.get(t, ())}
                candidates = sorted(shared.union(found.tolist(), self._near(norms[i], shared)))
                # Manifests, the API and the lists write countries many ways ("CHN", "中国").
                out[i] = self._rescore(norms[i], country_code(parties[i][1]), candidates,
                                       threshold)
        return out

    def _near(self, query: NormName, known: set[int]) -> list[int]:
        """Names with words one letter apart from the party's, most such words first."""
        words: dict[int, int] = {}
        for t in set(query.significant):
            hit: set[int] = set()
            for key in _neighbourhood(t):
                hit.update(self._near_index.get(key, ()))
            for j in hit - known:
                words[j] = words.get(j, 0) + 1
        return sorted(words, key=lambda j: (-words[j], j))[:_NEIGHBOUR_TOP]

    def _rescore(self, query: NormName, country: str, candidates: list[int],
                 threshold: float) -> list[WatchlistHit]:
        best: dict[int, WatchlistHit] = {}
        for c in candidates:
            owner = self._owner[c]
            listed = self._names[c]
            score = name_similarity(query, listed)
            entry = self.entries[owner]
            detail = f"name {query.original!r} ~ {listed.original!r} ({score:.2f})"
            if country and entry.countries:
                if country in entry.countries:
                    detail += f"; country agrees ({country})"
                else:
                    score = round(score * COUNTRY_MISMATCH_FACTOR, 4)
                    detail += (f"; countries differ: {country} / "
                               + "/".join(entry.countries[:4]))
            if why := _kind_mismatch(query, listed, entry):
                score = round(score * KIND_MISMATCH_FACTOR, 4)
                detail += f"; {why}"
            if score >= threshold and (owner not in best or score > best[owner].score):
                best[owner] = WatchlistHit(entry, listed.original, score, detail)
        return sorted(best.values(), key=lambda h: (-h.score, h.entry.entry_id))


# -- cache --------------------------------------------------------------------------------------
# Reading the full SDN list and building the matcher's indexes costs seconds; reading them back
# from the user's cache a fraction of that. The key holds every file read (path, size, time,
# content digest) and a digest of the code that reads and normalises names.
_CODE_VERSION: str | None = None


def _code_version() -> str:
    global _CODE_VERSION
    if _CODE_VERSION is None:
        from precursorwatch.screen import countries, names

        _CODE_VERSION = code_version(
            [__file__, names.__file__, countries.__file__],
            ["anyascii", "countrynames", "normality", "rapidfuzz"])
    return _CODE_VERSION


def _watchlist_files(path: Path) -> list[Path] | None:
    """Every file `load_watchlist(path)` reads, or None when it would raise."""
    if path.is_dir() and (path / "sdn.csv").is_file():
        folder, main = path, path / "sdn.csv"
    elif path.is_file():
        if path.suffix.lower() != ".csv":
            return [path]
        folder, main = path.parent, path
    else:
        return None
    return [main, *(f for f in (folder / "add.csv", folder / "alt.csv") if f.is_file())]


def _fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _pack_matcher(m: PartyMatcher) -> dict[str, tuple[str, Any]]:
    """The matcher's attributes with its records as plain tuples: frozen dataclasses with
    slots unpickle several times slower than the tuples they are rebuilt from."""
    out: dict[str, tuple[str, Any]] = {}
    for attr, value in vars(m).items():
        if isinstance(value, list) and value and isinstance(value[0], WatchlistEntry):
            names = _fields(WatchlistEntry)
            out[attr] = ("entries", [tuple(getattr(e, n) for n in names) for e in value])
        elif isinstance(value, list) and value and isinstance(value[0], NormName):
            names = _fields(NormName)
            out[attr] = ("names", [tuple(getattr(e, n) for n in names) for e in value])
        else:
            out[attr] = ("plain", value)
    return out


def _unpack_matcher(packed: dict[str, tuple[str, Any]]) -> PartyMatcher:
    m = PartyMatcher.__new__(PartyMatcher)
    with no_gc():  # tens of thousands of records, no cycles among them
        for attr, (tag, value) in packed.items():
            if tag == "entries":
                setattr(m, attr, [WatchlistEntry(*t) for t in value])
            elif tag == "names":
                setattr(m, attr, [NormName(*t) for t in value])
            else:
                setattr(m, attr, value)
    return m


def load_matcher(paths: Sequence[str | Path]) -> tuple[PartyMatcher, list[int]]:
    """The matcher over every entry of these watchlists, and how many entries each gave
    (in `paths` order; `matcher.entries` holds them in that order). Read from the user's
    cache when the files and the code are unchanged; raises WatchlistError as
    `load_watchlist` does."""
    files: list[tuple[str, int, int, str]] = []
    for p in paths:
        found = _watchlist_files(Path(p))
        if found is None:
            load_watchlist(p)  # raises the clear error
            raise WatchlistError(f"{p}: no such watchlist file")
        files.extend(file_fingerprint(f) for f in found)
    key = (_code_version(), tuple(str(Path(p).resolve()) for p in paths), tuple(files))

    def build() -> tuple[dict[str, tuple[str, Any]], list[int]]:
        loaded = [load_watchlist(p) for p in paths]
        matcher = PartyMatcher(e for lst in loaded for e in lst)
        return _pack_matcher(matcher), [len(lst) for lst in loaded]

    packed, counts = cached("watchlist", key, build)
    return _unpack_matcher(packed), counts
