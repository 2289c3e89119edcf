"""Screening a manifest: the same pure steps on the local engine or on a Dask cluster.

Per chunk of rows (on either engine): validate, find chemical mentions in each *unique*
description and check them in one batch, match each *unique* party, run the shipment rules.
Then, over the whole file: the file rules (split shipments, new consignee), the score and the
level. Caches live per process, so text repeated across a million lines is worked out once.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import cache, lru_cache
from itertools import chain, islice, repeat
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from precursorwatch.chem.cas import CasError, parse_cas
from precursorwatch.screen.config import (
    RuleConfig,
    load_rule_config,
    with_threshold,
)
from precursorwatch.screen.known import KnownChemicals, description_entry, findings_version
from precursorwatch.screen.mentions import Mention, find_mentions
from precursorwatch.screen.model import (
    CANONICAL_COLUMNS,
    Flag,
    PartyHit,
    Problem,
    RawRow,
    Shipment,
    ShipmentResult,
)
from precursorwatch.screen.names import normalise_name
from precursorwatch.screen.readers import (
    Cells,
    Manifest,
    RowStream,
    SplitPoint,
    csv_blocks_from,
    manifest_from_records,
    open_manifest,
    split_point,
)
from precursorwatch.screen.rules import (
    RULE_CODES,
    ChemicalFinding,
    Evidence,
    FileFacts,
    FileKey,
    file_flags,
    ordinary_rule_groups,
    risk_score,
    shipment_flags,
)
from precursorwatch.screen.validate import parse_many
from precursorwatch.screen.watchlist import (
    PartyMatcher,
    WatchlistHit,
    bundled_watchlist_path,
    load_matcher,
    party_hits,
)

if TYPE_CHECKING:
    from precursorwatch.chem.opsin import OpsinProcess
    from precursorwatch.detect.check import Checker
    from precursorwatch.detect.verdict import Verdict

ENGINES = ("local", "dask")
# A row as `Screener.screen_rows` takes it: canonical column -> text, its cells, or why it could
# not be read.
RowInput = RawRow | Cells | Problem | list[Problem]
_ORDINARY_CACHE = 200_000
ROLES = (("shipper", "shipper_name", "shipper_country", "shipper_address"),
         ("consignee", "consignee_name", "consignee_country", "consignee_address"),
         ("notify_party", "notify_party", "", ""))


@dataclass(frozen=True, slots=True)
class ScreenOptions:
    """How to screen: dates and jurisdictions for the lists, watchlists, rules, engine.

    `watchlists` empty means the bundled OFAC SDNTK excerpt. Hashable, so each worker process
    builds one `Screener` per distinct set of options.
    """

    as_of: dt.date | None = None
    jurisdictions: tuple[str, ...] | None = None
    watchlists: tuple[str, ...] = ()
    threshold: float | None = None
    rules: str | None = None
    column_map: tuple[tuple[str, str], ...] = ()
    engine: str = "local"
    scheduler: str | None = None
    workers: int = 2
    processes: bool = True  # for a local Dask cluster: worker processes (False: threads)
    # Local engine: a CSV manifest of at least SPLIT_MIN_BYTES is shared with a second process
    # (forked, the same caches) that screens its second half, when a core is idle; False
    # keeps to one process.
    split: bool = True
    chunk_size: int = 20_000
    progress: bool = False


@dataclass(slots=True)
class ScreenRun:
    """The results of a run, in input order, with what is needed to report on it."""

    path: Path
    results: list[ShipmentResult]
    rule_set: str
    rule_set_version: str
    watchlists: list[str]
    engine: str
    seconds: float
    manifest_format: str = ""
    notes: list[str] = field(default_factory=list)
    config: RuleConfig | None = None

    def __iter__(self) -> Iterator[ShipmentResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)


@dataclass(slots=True)
class ChunkOutcome:
    results: list[ShipmentResult]
    keys: list[FileKey]

    def pack(self) -> PackedOutcome:
        """Plain tuples for the trip back from a Dask worker: they pickle several times
        faster than dataclass instances."""
        first = self.results[0] if self.results else None
        return (
            (first.rule_set, first.rule_set_version) if first else ("", ""),
            [(r.shipment_id, r.row, r.risk, r.level, r.chemicals, r.flags, r.parties,
              r.consignee_country, r.description, r.shipper_name, r.consignee_name)
             for r in self.results],
            [(k.index, k.shipper, k.consignee, k.chemicals, k.date, k.quantity_kg)
             for k in self.keys],
        )

    @classmethod
    def unpack(cls, packed: PackedOutcome) -> ChunkOutcome:
        (rule_set, version), results, keys = packed
        return cls(
            [ShipmentResult(sid, row, risk, level, chems, flags, parties, rule_set, version,
                            country, description, shipper, consignee)
             for sid, row, risk, level, chems, flags, parties, country, description, shipper,
             consignee in results],
            [FileKey(*k) for k in keys],
        )


PackedOutcome = tuple[tuple[str, str], list[tuple[Any, ...]], list[tuple[Any, ...]]]


@lru_cache(maxsize=200_000)
def _fold_party(name: str) -> str:
    return " ".join(normalise_name(name).tokens) if name else ""


@cache
def _screening_checker() -> Checker:
    """The process's Checker over the bundled lists, with one OPSIN process for the whole run
    (one per Dask worker) whose answers are kept in the user's cache: names parsed in an
    earlier run need no JVM."""
    from precursorwatch.controls.load import load_controls
    from precursorwatch.detect.check import Checker
    from precursorwatch.screen.diskcache import CachedOpsin

    return Checker(load_controls(), name_parser=CachedOpsin())


class Screener:
    """Everything one process needs to screen rows: rules, watchlists, Checker, caches."""

    def __init__(self, options: ScreenOptions, checker: Checker | None = None) -> None:
        cfg = load_rule_config(options.rules, RULE_CODES)
        if options.threshold is not None:
            cfg = with_threshold(cfg, options.threshold)
        self.cfg: RuleConfig = cfg
        self.options = options
        self._jurisdictions: tuple[str, ...] = ()
        if options.jurisdictions:
            from precursorwatch.detect.check import normalise_jurisdictions

            # Raises UnknownJurisdiction now, before any row is read.
            self._jurisdictions = tuple(sorted(
                normalise_jurisdictions(list(options.jurisdictions)) or ()))
        # The Checker (RDKit, the lists, OPSIN) is built at the first chemical to check: a run
        # whose descriptions were all screened before (`_known` below) needs none.
        self._checker = checker
        # The chemicals found in descriptions by earlier runs with the same code, lists and
        # options, from the user's cache (only for the default Checker: another one may judge
        # differently).
        self._known = KnownChemicals(self._known_key()) if checker is None else None
        paths = options.watchlists or (str(bundled_watchlist_path()),)
        # Read back from the user's cache when the lists and the matching code are unchanged.
        self.matcher: PartyMatcher
        try:
            self.matcher, counts = load_matcher(paths)
        except BaseException:
            self.close()  # a watchlist the user named cannot be read: no run, no OPSIN
            raise
        self.watchlist_notes: list[str] = []
        start = 0
        for p, count in zip(paths, counts, strict=True):
            loaded = self.matcher.entries[start:start + count]
            start += count
            lists = sorted({e.list for e in loaded})
            self.watchlist_notes.append(f"{p} ({', '.join(lists) or 'empty'}: "
                                        f"{len(loaded)} entries)")
        self._hs_table: dict[str, str] | None = None
        # description -> (chemicals, CAS numbers with a bad check digit, Contract 1 objects,
        # whether a chemical is of concern)
        self._descriptions: dict[str, tuple[tuple[ChemicalFinding, ...], tuple[str, ...],
                                            tuple[dict[str, Any], ...], bool]] = {}
        self._declared: dict[str, tuple[ChemicalFinding | None, str]] = {}
        self._parties: dict[tuple[str, str], tuple[WatchlistHit, ...]] = {}
        self._hit_names: set[str] = set()  # names with a hit in some country: see `_parties`
        # Risk of each distinct flags tuple (the same objects recur, from the caches).
        self._risks: dict[int, tuple[tuple[Flag, ...], int]] = {}
        # Per group of rules reading the same fields: (fields' values -> flags), see
        # `_ordinary_flags`.
        self._ordinary_groups: list[tuple[Callable[[Shipment], Any], bool,
                                          list[tuple[str, int, Callable[..., str | None]]],
                                          dict[Any, tuple[Flag, ...]]]] = [
            (attrgetter(*(f for f in fields if f != "quantity_kg"))
             if len(fields) - ("quantity_kg" in fields) > 1 else _single_getter(fields),
             "quantity_kg" in fields, rules, {})
            for fields, rules in ordinary_rule_groups(cfg)]
        self._role_hits: dict[tuple[str, str, str, str], tuple[PartyHit, ...]] = {}
        self._combined: dict[tuple[int, ...], tuple[list[tuple[Flag, ...]],
                                                    tuple[Flag, ...]]] = {}
        self._with_declared: dict[tuple[str, str], tuple[tuple[dict[str, Any], ...],
                                                         tuple[dict[str, Any], ...]]] = {}
        self._lock = threading.Lock()

    @property
    def checker(self) -> Checker:
        if self._checker is None:
            self._checker = _screening_checker()
        return self._checker

    def _known_key(self) -> tuple[object, ...]:
        """What the chemicals found in a description depend on, besides the description."""
        o = self.options
        return (findings_version(), (o.as_of or dt.date.today()).isoformat(),
                self._jurisdictions, tuple(self.cfg.hs.subheadings))

    def _opsin(self) -> OpsinProcess | None:
        from precursorwatch.chem.opsin import OpsinProcess

        parser = getattr(getattr(self._checker, "resolver", None), "name_parser", None)
        return parser if isinstance(parser, OpsinProcess) else None

    def close(self) -> None:
        """Stop the OPSIN process this Screener's Checker keeps running (a later name starts a
        new one)."""
        if (parser := self._opsin()) is not None:
            parser.close()

    def save_known(self) -> None:
        """Keep the chemicals found in this run's new descriptions for later runs."""
        if self._known is not None:
            self._known.save(self._descriptions, self._declared)

    @property
    def _hs(self) -> dict[str, str]:
        if self._hs_table is None:
            self._hs_table = self._hs_codes(self.checker)
        return self._hs_table

    def _hs_codes(self, checker: Checker) -> dict[str, str]:
        """Listed substance name (any of its names) -> its dedicated HS subheading."""
        out = {k.lower(): v for k, v in self.cfg.hs.subheadings}
        controls = getattr(checker, "controls", None)
        for s in getattr(controls, "substances", ()):
            if s.hs_code:
                for n in (s.name, s.id, *s.abbreviations):
                    out[n.lower()] = s.hs_code
        return out

    # -- chemistry ------------------------------------------------------------------------------
    def _check(self, texts: Sequence[str]) -> list[Verdict]:
        o = self.options
        return self.checker.check_batch(list(texts), as_of=o.as_of,
                                        jurisdictions=list(o.jurisdictions or ()) or None)

    def finding(self, mention: str, found_by: str, v: Verdict) -> ChemicalFinding:
        """What the rules need to know about one checked chemical."""
        substances = tuple(dict.fromkeys(m.substance for m in v.matches))
        hs = tuple((s, self._hs[s.lower()]) for s in substances if s.lower() in self._hs)
        return ChemicalFinding(
            mention=mention, found_by=found_by, verdict=v.verdict, name=v.name or "",
            inchikey=v.inchikey or "", substances=substances, hs_codes=hs,
            contract=v.model_dump(mode="json"),
        )

    def _learn_descriptions(self, descriptions: Sequence[str], declared: Sequence[str]) -> None:
        new_desc = [d for d in dict.fromkeys(descriptions) if d not in self._descriptions]
        new_declared = [t for t in dict.fromkeys(declared) if t and t not in self._declared]
        if self._known is not None and (new_desc or new_declared):
            new_desc = self._known.recall_descriptions(new_desc, self._descriptions)
            new_declared = self._known.recall_declared(new_declared, self._declared)
        new_cas: dict[str, str] = {}  # declared text -> normalised CAS
        for text in new_declared:
            try:
                new_cas[text] = str(parse_cas(text))
            except CasError as exc:
                self._declared[text] = (None, f"declared {exc}")
        mentions = {d: find_mentions(d) for d in new_desc}
        texts = list(dict.fromkeys(
            [m.text for ms in mentions.values() for m in ms.candidates] + list(new_cas.values())))
        verdicts = dict(zip(texts, self._check(texts), strict=True)) if texts else {}
        for d, ms in mentions.items():
            chosen = self._select(ms.candidates, verdicts)
            self._descriptions[d] = description_entry(chosen, ms.bad_cas)
        for text, cas in new_cas.items():
            self._declared[text] = (self.finding(cas, "declared_cas", verdicts[cas]), "")

    def _select(self, candidates: Sequence[Mention], verdicts: dict[str, Verdict]
                ) -> tuple[ChemicalFinding, ...]:
        """The chemicals a description names: every CAS number, and per segment the longest
        resolved name candidates that do not overlap (so "4-piperidone HCl" is not also
        reported as "4-piperidone")."""
        chosen: list[ChemicalFinding] = []
        taken: dict[int, list[tuple[int, int]]] = {}
        for m in candidates:  # longest first within each segment
            v = verdicts[m.text]
            if m.kind == "cas":
                chosen.append(self.finding(m.text, "cas", v))
                continue
            if v.verdict == "unresolved":
                continue
            spans = taken.setdefault(m.segment, [])
            if any(m.start < e and s < m.end for s, e in spans):
                continue
            spans.append((m.start, m.end))
            chosen.append(self.finding(m.text, "name", v))
        seen: set[str] = set()
        unique = []
        for c in chosen:
            key = c.inchikey or c.mention.lower()
            if key not in seen:
                seen.add(key)
                unique.append(c)
        return tuple(unique)

    # -- parties --------------------------------------------------------------------------------
    def _learn_parties(self, parties: Sequence[tuple[str, str]]) -> None:
        new = [p for p in dict.fromkeys(parties) if p[0] and p not in self._parties]
        if not new:
            return
        hits = self.matcher.match_many(new, self.cfg.party_match)
        for p, found in zip(new, hits, strict=True):
            self._parties[p] = tuple(found[:3])
            if found:
                self._hit_names.add(p[0])

    def _party_hits(self, s: Shipment) -> tuple[PartyHit, ...]:
        parties = self._parties
        out: tuple[PartyHit, ...] = ()
        # Most parties have no hit: one look-up each.
        if s.shipper_name and (h := parties.get((s.shipper_name, s.shipper_country))):
            out += self._role_party_hits("shipper", s.shipper_name, s.shipper_country,
                                         s.shipper_address, h)
        if s.consignee_name and (h := parties.get((s.consignee_name, s.consignee_country))):
            out += self._role_party_hits("consignee", s.consignee_name, s.consignee_country,
                                         s.consignee_address, h)
        if s.notify_party and (h := parties.get((s.notify_party, ""))):
            out += self._role_party_hits("notify_party", s.notify_party, "", "", h)
        return out

    def _role_party_hits(self, role: str, name: str, country: str, address: str,
                         hits: tuple[WatchlistHit, ...]) -> tuple[PartyHit, ...]:
        # The hits follow from (name, country); the address orders them and adds detail.
        key = (role, name, country, address)
        found = self._role_hits.get(key)
        if found is None:
            found = self._role_hits[key] = tuple(party_hits(role, name, address, hits))
        return found

    # -- rows -----------------------------------------------------------------------------------
    def _ordinary_flags(self, s: Shipment, chemicals: tuple[ChemicalFinding, ...],
                        declared: ChemicalFinding | None, declared_error: str,
                        bad_cas: tuple[str, ...]) -> tuple[Flag, ...]:
        """Flags of a shipment with no chemical of concern and no party hit.

        Without those, each rule reads only the fields its table entry names
        (`RuleSpec.ordinary_reads`), so its answer is cached under their values: the millions
        of ordinary lines of a manifest cost a few dictionary look-ups each.
        """
        parts: list[tuple[Flag, ...]] = []
        small_kg = self.cfg.small_consignment_kg
        for getter, reads_quantity, rules, answers in self._ordinary_groups:
            key = getter(s)
            if reads_quantity:
                q = s.quantity_kg
                key = (key, q if q is not None and q <= small_kg else None)
            found = answers.get(key)
            if found is None:
                ev = Evidence(chemicals=chemicals, declared=declared,
                              declared_cas_error=declared_error, bad_cas_in_text=bad_cas)
                fired = []
                for code, w, func in rules:
                    detail = func(s, ev, self.cfg)
                    if detail is not None:
                        fired.append(Flag(code, w, detail))
                found = tuple(fired)
                if len(answers) > _ORDINARY_CACHE:
                    answers.clear()
                answers[key] = found
            if found:
                parts.append(found)
        if not parts:
            return ()
        if len(parts) == 1:
            return parts[0]
        # The same combination is one tuple, so results (and their JSON) share it.
        combined_key = tuple(map(id, parts))
        combined = self._combined.get(combined_key)
        if combined is None or any(a is not b for a, b in zip(combined[0], parts, strict=True)):
            if len(self._combined) > _ORDINARY_CACHE:
                self._combined.clear()
            combined = self._combined[combined_key] = (parts, tuple(chain(*parts)))
        return combined[1]

    def screen_rows(self, rows: Sequence[tuple[int, RowInput]]) -> ChunkOutcome:
        """Screen a chunk of rows (each a dict of canonical column -> text, its cells as
        `RowStream.cells` gives them, or the problems that kept it from being read): shipment
        rules only; file rules come in `finish`."""
        with self._lock:
            return self._screen_rows(rows)

    def _screen_rows(self, rows: Sequence[tuple[int, RowInput]]) -> ChunkOutcome:
        parsed: list[Any]
        cell_rows: Sequence[tuple[int, Cells]]
        at: Sequence[int]
        if set(map(type, map(itemgetter(1), rows))) <= {tuple}:  # the usual chunk: cells only
            cell_rows = cast(Sequence[tuple[int, Cells]], rows)
            parsed = [None] * len(rows)
            at = range(len(rows))
        else:
            parsed, cell_rows, at = [], [], []
            for i, (row_no, raw) in enumerate(rows):
                if isinstance(raw, Problem):
                    parsed.append((row_no, [raw], ""))
                elif isinstance(raw, list):
                    parsed.append((row_no, raw, ""))
                else:
                    parsed.append(None)
                    at.append(i)
                    cell_rows.append((row_no, raw if isinstance(raw, tuple) else tuple(
                        [raw.get(c, "") for c in CANONICAL_COLUMNS])))
        for i, (row_no, cells), item in zip(at, cell_rows, parse_many(cell_rows), strict=True):
            parsed[i] = (row_no, item, cells[0])
        good = [s for _, s, _ in parsed if type(s) is Shipment]
        descriptions_seen = list(map(attrgetter("description"), good))
        declared_seen = [c for c in map(attrgetter("cas"), good) if c]
        # Each party once a chunk (`_learn_parties` leaves out empty names and repeats).
        party_keys = list(chain(
            map(attrgetter("shipper_name", "shipper_country"), good),
            map(attrgetter("consignee_name", "consignee_country"), good),
            zip(map(attrgetter("notify_party"), good), repeat(""), strict=False)))
        self._learn_descriptions(descriptions_seen, declared_seen)
        self._learn_parties(party_keys)
        cfg = self.cfg
        name, version, level = cfg.name, cfg.version, cfg.level
        level_of = [level(r) for r in range(101)]  # risk is 0 to 100
        descriptions = self._descriptions
        declared_cas = self._declared
        no_declared: tuple[ChemicalFinding | None, str] = (None, "")
        hit_names = self._hit_names
        risks = self._risks
        results: list[ShipmentResult] = []
        keys: list[FileKey] = []
        for row_no, item, raw_id in parsed:
            if not isinstance(item, Shipment):
                detail = "; ".join(str(p) for p in item)
                bad = (Flag("BAD_ROW", cfg.weight("BAD_ROW"), detail),)
                risk = risk_score(bad)
                results.append(ShipmentResult(raw_id or f"row {row_no}", row_no, risk,
                                              level(risk), (), bad, (), name, version))
                continue
            s = item
            chemicals, bad_cas, contracts, of_concern = descriptions[s.description]
            declared, declared_error = declared_cas.get(s.cas, no_declared) if s.cas \
                else no_declared
            # Nearly every party has no hit in any country: one set look-up each.
            parties = self._party_hits(s) if (
                s.shipper_name in hit_names or s.consignee_name in hit_names
                or s.notify_party in hit_names) else ()
            concern: tuple[tuple[str, str], ...] = ()
            if of_concern or parties or (declared is not None and declared.of_concern):
                ev = Evidence(chemicals=chemicals, declared=declared,
                              declared_cas_error=declared_error, bad_cas_in_text=bad_cas,
                              parties=parties)
                flags = tuple(shipment_flags(s, ev, cfg))
                concern = tuple(dict.fromkeys(
                    (c.inchikey[:14] or c.label.lower(), c.label) for c in ev.concern))
            else:
                flags = self._ordinary_flags(s, chemicals, declared, declared_error, bad_cas)
            if declared is not None and declared.verdict != "unresolved" and not any(
                    c.inchikey and c.inchikey == declared.inchikey for c in chemicals):
                # One tuple per (description, CAS): results (and their JSON) share it.
                both = self._with_declared.get((s.description, s.cas))
                if both is None or both[0] is not contracts:
                    both = self._with_declared[(s.description, s.cas)] = \
                        (contracts, (*contracts, declared.contract))
                contracts = both[1]
            if not flags:
                risk = 0
            elif (known := risks.get(id(flags))) is not None and known[0] is flags:
                risk = known[1]
            else:
                risk = risk_score(flags)
                if len(risks) > _ORDINARY_CACHE:
                    risks.clear()
                risks[id(flags)] = (flags, risk)
            results.append(ShipmentResult(
                s.shipment_id, row_no, risk,
                level_of[risk] if 0 <= risk <= 100 else level(risk), contracts, flags, parties,
                name, version, s.consignee_country, s.description, s.shipper_name,
                s.consignee_name,
            ))
            keys.append(FileKey(row_no, _fold_party(s.shipper_name),
                                _fold_party(s.consignee_name), concern, s.date, s.quantity_kg))
        return ChunkOutcome(results, keys)


def _single_getter(fields: tuple[str, ...]) -> Callable[[Shipment], object]:
    """The value of the one field besides `quantity_kg` (or none) as a cache key."""
    rest = [f for f in fields if f != "quantity_kg"]
    if not rest:
        return lambda s: ()
    return attrgetter(rest[0])


def finish(results: list[ShipmentResult], keys: Sequence[FileKey], cfg: RuleConfig) -> None:
    """Apply the file rules and settle every result's score and level (in place)."""
    facts = FileFacts.build(keys, cfg)
    touched = set(facts.split_groups) | set(facts.new_consignee)
    if not touched:
        return
    by_row = {r.row: r for r in results if r.row in touched}
    for key in keys:
        if key.index in touched:
            extra = file_flags(key, facts, cfg)
            r = by_row[key.index]
            r.flags = (*r.flags, *extra)
            r.risk = risk_score(r.flags)
            r.level = cfg.level(r.risk)


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of acyclic objects are made.

    Results, rows and flags hold no reference cycles, so reference counting frees them; the
    collector would otherwise rescan every live result again and again (40% of the CPU time
    at a million lines).

    When it resumes, what was made meanwhile goes to the oldest generation at once (frozen
    and thawed: nothing else is frozen then), as after a full collection: the young
    generations' next collections would each scan every object made (at a million lines,
    about 0.5 s of CPU each), and a full collection still comes when it is due.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if not gc.get_freeze_count():  # leave alone what someone else froze
                gc.freeze()
                gc.unfreeze()
            gc.enable()


# -- engines --------------------------------------------------------------------------------
_SCREENERS: dict[ScreenOptions, Screener] = {}
_SCREENERS_LOCK = threading.Lock()


def screener_for(options: ScreenOptions) -> Screener:
    """The process's Screener for these options (built on first use: lists, Checker)."""
    with _SCREENERS_LOCK:
        s = _SCREENERS.get(options)
        if s is None:
            s = _SCREENERS[options] = Screener(options)
        return s


def close_screeners() -> None:
    """Stop the OPSIN processes of this process's Screeners: call it when done screening
    (`pwatch screen` does; a process's exit stops them too)."""
    with _SCREENERS_LOCK:
        for s in _SCREENERS.values():
            s.close()


def _worker_options(options: ScreenOptions) -> ScreenOptions:
    # What the workers build their Screener from; engine details do not change results.
    from dataclasses import replace

    return replace(options, engine="local", scheduler=None, progress=False)


# A chunk as sent to Dask workers: the column names once, then each row's values as a tuple
# (or its Problem): about half the bytes of a list of dicts.
PackedChunk = tuple[tuple[str, ...], list[tuple[int, tuple[str, ...] | Problem]]]


def pack_chunk(rows: list[tuple[int, Any]]) -> PackedChunk:
    columns: tuple[str, ...] = ()
    for _, raw in rows:
        if isinstance(raw, dict):
            columns = tuple(raw)
            break
    packed: list[tuple[int, tuple[str, ...] | Problem]] = [
        (n, tuple(raw.get(c, "") for c in columns) if isinstance(raw, dict) else raw)
        for n, raw in rows]
    return columns, packed


def unpack_chunk(chunk: PackedChunk) -> list[tuple[int, Any]]:
    columns, packed = chunk
    return [(n, dict(zip(columns, values, strict=True)) if isinstance(values, tuple) else values)
            for n, values in packed]


def _screen_chunk(options: ScreenOptions, chunk: PackedChunk) -> PackedOutcome:
    with paused_gc():
        return screener_for(options).screen_rows(unpack_chunk(chunk)).pack()


def _chunks(manifest: Manifest, size: int) -> Iterator[list[tuple[int, Any]]]:
    rows = manifest.rows
    while chunk := list(islice(rows, size)):
        yield chunk


def _count_lines(path: Path) -> int | None:
    if path.suffix.lower() not in (".csv", ".tsv", ".txt", ".jsonl", ".ndjson"):
        return None
    n = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 22):
            n += block.count(b"\n")
    return max(n - (1 if path.suffix.lower() in (".csv", ".tsv", ".txt") else 0), 0)


ProgressHook = Callable[[int], None]


def _blocks(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while block := list(islice(rows, size)):
        yield block


class _Chunks:
    """Rows given a block at a time, taken in chunks of any size (a list each)."""

    def __init__(self, blocks: Iterator[list[Any]]) -> None:
        self._blocks = blocks
        self._left: list[Any] = []  # of a block read, the rows not yet taken

    def take(self, n: int) -> list[Any]:
        """The next `n` rows, fewer at the end."""
        out, self._left = self._left, []
        while len(out) < n:
            block = next(self._blocks, None)
            if block is None:
                break
            if out:
                out.extend(block)
            else:
                out = block
        if len(out) > n:
            out, self._left = out[:n], out[n:]
        return out


def _run_local(manifest: Manifest, options: ScreenOptions, advance: ProgressHook,
               since: CpuMark | None = None
               ) -> tuple[list[ShipmentResult], list[FileKey], Screener]:
    screener = screener_for(_worker_options(options))
    results: list[ShipmentResult] = []
    keys: list[FileKey] = []

    def screen(rows: _Chunks, limit: int | None = None) -> None:
        done = 0
        while chunk := rows.take(options.chunk_size if limit is None
                                 else min(options.chunk_size, limit - done)):
            done += len(chunk)
            out = screener.screen_rows(chunk)
            results.extend(out.results)
            keys.extend(out.keys)
            advance(len(chunk))

    # A CSV manifest's rows as cells, a block at a time: no dict and no step a row.
    rows = _Chunks(manifest.rows.cell_blocks() if isinstance(manifest.rows, RowStream)
                   else _blocks(manifest.rows, options.chunk_size))
    helper = _SecondHalf.start(manifest, options, screener, since)
    if helper is None:
        screen(rows)
        return results, keys, screener
    screen(rows, helper.at.rows_before)
    packed = helper.collect()
    if packed is None:  # the helper failed: this process reads on where it stopped
        screen(rows)
    else:
        for chunk_outcome in packed:
            out = ChunkOutcome.unpack(chunk_outcome)
            results.extend(out.results)
            keys.extend(out.keys)
            advance(len(out.results))
    return results, keys, screener


SPLIT_MIN_BYTES = 32 << 20
# The share of the file this process screens before it reads the second process's results:
# a little over half, since the second one also sends its results (pickled) and starts with
# a fork, and this one then only unpacks them.
_FIRST_SHARE = 0.54


@dataclass(frozen=True, slots=True)
class CpuMark:
    """The machine's busy CPU time and this process's own at one moment (Linux: /proc/stat);
    two marks tell how much CPU everything else used between them."""

    wall: float  # time.monotonic()
    busy: float  # seconds of CPU time the machine's cores spent busy since boot
    own: float  # this process's CPU seconds

    @classmethod
    def now(cls) -> CpuMark | None:
        """None where the machine's CPU times cannot be read."""
        try:
            with open("/proc/stat", "rb") as fh:
                fields = fh.readline().split()
            # user nice system idle iowait irq softirq steal (in clock ticks)
            user, nice, system, _, _, irq, softirq, steal = map(int, fields[1:9])
            hz = os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError):
            return None
        if fields[0] != b"cpu" or hz <= 0:
            return None
        busy = (user + nice + system + irq + softirq + steal) / hz
        return cls(time.monotonic(), busy, time.process_time())

    def others_since(self, earlier: CpuMark) -> float:
        """Cores that everything but this process kept busy on average since `earlier`."""
        seconds = self.wall - earlier.wall
        if seconds <= 0:
            return 0.0
        return max(0.0, (self.busy - earlier.busy) - (self.own - earlier.own)) / seconds


# The shortest look at the machine `_idle_core` takes (seconds; it waits for the rest).
_LOOK_SECONDS = 0.2
# What else may keep the cores busy, in cores, with this process and a second one running.
_OTHERS_ALLOWED = 0.5


def core_free(cores: int, load: float, others: float | None) -> bool:
    """The rule for a second process: two cores or more; the rest of the machine keeps no
    more than all cores but two busy, give or take half a core (`others`: cores busy with
    everything but this process, measured over the last moments), and the load average of the
    last minute is no higher than the cores.

    The load average alone cannot tell: it counts this process itself, which on a quiet 2-core
    machine is the whole load (1.1 there while a million lines were screened, and the old rule,
    load + 1 <= cores, never let the second process start). Where `others` cannot be measured,
    that old rule is all there is.
    """
    if cores < 2:
        return False
    if others is None:
        return load + 1 <= cores
    return load <= cores and others + 2 <= cores + _OTHERS_ALLOWED


def _idle_core(since: CpuMark | None = None) -> bool:
    """Whether a core is free for a second process now (`core_free`), judging the rest of the
    machine since `since` (the start of the run; at least 0.2 s). On a machine already busy,
    a second process only adds the cost of sending its results back (the scheduler shares
    the machine between sessions, not between their processes)."""
    cores = os.cpu_count() or 1
    if cores < 2:
        return False
    mark = CpuMark.now()
    if since is not None and mark is not None \
            and (wait := _LOOK_SECONDS - (mark.wall - since.wall)) > 0:
        time.sleep(wait)
        mark = CpuMark.now() or mark
    others = mark.others_since(since) if since is not None and mark is not None else None
    return core_free(cores, os.getloadavg()[0], others)


@dataclass(slots=True)
class _SecondHalf:
    """A forked process screening a large CSV manifest from its middle on, while this one
    screens the first half; its results come back as plain tuples (`ChunkOutcome.pack`)
    through a pipe. It starts with this process's Screener and caches, reads from a line no
    quoted value runs across (`readers.split_point`), and numbers rows as a reading of the
    whole file would, so the results are the same as from one process."""

    pid: int
    pipe: int
    at: SplitPoint

    @classmethod
    def start(cls, manifest: Manifest, options: ScreenOptions, screener: Screener,
              since: CpuMark | None = None) -> _SecondHalf | None:
        """The helper, started, or None where one process screens it all. `since`: the
        start of the run, from when the rest of the machine's use is judged."""
        if (not options.split or not hasattr(os, "fork")
                or manifest.format != "csv" or manifest.path.stat().st_size < SPLIT_MIN_BYTES
                # A Checker may run OPSIN, whose pipes a forked copy must not share: each
                # process builds its own when it needs one. (The copy uses nothing else that
                # another thread of this process may hold, such as a progress bar.)
                or screener._checker is not None
                or _screening_checker.cache_info().currsize
                or not _idle_core(since)):
            return None
        at = split_point(manifest, _FIRST_SHARE)
        if at is None:
            return None
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the helper: screen, send, and leave without running exit handlers
            code = 1
            try:
                os.close(read_end)
                rows = _Chunks(csv_blocks_from(manifest, at))
                packed = []
                while chunk := rows.take(options.chunk_size):
                    packed.append(screener.screen_rows(chunk).pack())
                with os.fdopen(write_end, "wb") as out:
                    pickle.dump(packed, out, protocol=pickle.HIGHEST_PROTOCOL)
                code = 0
            except BaseException:
                pass
            finally:
                with suppress(BaseException):
                    screener.close()  # its own OPSIN, if it started one
                os._exit(code)
        os.close(write_end)
        return cls(pid, read_end, at)

    def collect(self) -> list[PackedOutcome] | None:
        """The helper's chunk outcomes in order, or None if it failed."""
        with os.fdopen(self.pipe, "rb") as fh:
            data = fh.read()
        _, status = os.waitpid(self.pid, 0)
        if status != 0 or not data:
            return None
        with paused_gc():
            packed: list[PackedOutcome] = pickle.loads(data)
        return packed


def _run_dask(manifest: Manifest, options: ScreenOptions, advance: ProgressHook
              ) -> tuple[list[ShipmentResult], list[FileKey]]:
    # Without the `dask` extra this raises ModuleNotFoundError, which `pwatch` turns into
    # "pip install 'precursorwatch[dask]'".
    from distributed import Client, LocalCluster, as_completed
    wopts = _worker_options(options)
    cluster = None
    if options.scheduler:
        client = Client(options.scheduler, timeout="30s")
    else:
        cluster = LocalCluster(n_workers=options.workers, threads_per_worker=1,
                               processes=options.processes, dashboard_address=None)
        client = Client(cluster)
    try:
        pending: dict[Any, int] = {}
        done: dict[int, ChunkOutcome] = {}
        window = options.workers + 1  # chunks in flight: bounds memory
        chunks = enumerate(_chunks(manifest, options.chunk_size))
        ac = as_completed()
        for _ in range(window):
            nxt = next(chunks, None)
            if nxt is None:
                break
            fut = client.submit(_screen_chunk, wopts, pack_chunk(nxt[1]), pure=False)
            pending[fut] = nxt[0]
            ac.add(fut)
        for fut in ac:
            idx = pending.pop(fut)
            outcome = ChunkOutcome.unpack(fut.result())
            done[idx] = outcome
            advance(len(outcome.results))
            nxt = next(chunks, None)
            if nxt is not None:
                f2 = client.submit(_screen_chunk, wopts, pack_chunk(nxt[1]), pure=False)
                pending[f2] = nxt[0]
                ac.add(f2)
        results: list[ShipmentResult] = []
        keys: list[FileKey] = []
        for idx in sorted(done):
            results.extend(done[idx].results)
            keys.extend(done[idx].keys)
        return results, keys
    finally:
        if cluster is not None:
            # Workers of our own cluster end now: their OPSIN processes with them. Workers of
            # a cluster given by address keep theirs for the next run.
            with suppress(Exception):
                client.run(close_screeners)
        client.close()
        if cluster is not None:
            cluster.close()


def screen_file(path: str | Path, *, options: ScreenOptions | None = None) -> ScreenRun:
    """Screen every shipment of a manifest file; results in input order (Contract 2).

    Raises ManifestError (file-level problems, all listed), RulesConfigError, WatchlistError,
    UnknownJurisdiction; a bad row never raises: it becomes a BAD_ROW result.
    """
    options = options or ScreenOptions()
    if options.engine not in ENGINES:
        raise ValueError(f"unknown engine {options.engine!r}; use local or dask")
    started = time.perf_counter()
    since = CpuMark.now()  # what the rest of the machine does from now on: see `_idle_core`
    p = Path(path)
    manifest = open_manifest(p, dict(options.column_map))
    # Counted (a pass over the file) only for the progress bar.
    return _screen_manifest(manifest, options, started,
                            _count_lines(p) if options.progress else None, since)


def screen_records(records: Sequence[Mapping[str, Any]], *,
                   options: ScreenOptions | None = None, source: str = "<records>"
                   ) -> ScreenRun:
    """Screen shipments already in memory (an upload, an API call): one mapping per shipment,
    keys as manifest headers (canonical names or recognised variants; `options.column_map`
    for others). Same results as `screen_file` on the same rows."""
    options = options or ScreenOptions()
    if options.engine not in ENGINES:
        raise ValueError(f"unknown engine {options.engine!r}; use local or dask")
    started = time.perf_counter()
    manifest = manifest_from_records(records, dict(options.column_map), source)
    return _screen_manifest(manifest, options, started, len(records))


def _screen_manifest(manifest: Manifest, options: ScreenOptions, started: float,
                     total: int | None, since: CpuMark | None = None) -> ScreenRun:
    p = manifest.path
    # Built here on every engine: it validates the rules and watchlists before any work.
    screener = screener_for(_worker_options(options))
    progress = None
    advance: ProgressHook = lambda n: None  # noqa: E731
    if options.progress:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        progress = Progress(TextColumn("screening"), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), transient=True)
        task = progress.add_task("rows", total=total)
        progress.start()

        def advance(n: int) -> None:
            progress.advance(task, n)
    try:
        with paused_gc():
            if options.engine == "dask":
                results, keys = _run_dask(manifest, options, advance)
            else:
                results, keys, _ = _run_local(manifest, options, advance, since)
                screener.save_known()
            finish(results, keys, screener.cfg)
    finally:
        if progress is not None:
            progress.stop()
    return ScreenRun(
        path=p, results=results, rule_set=screener.cfg.name,
        rule_set_version=screener.cfg.version, watchlists=screener.watchlist_notes,
        engine=options.engine, seconds=time.perf_counter() - started,
        manifest_format=manifest.format, config=screener.cfg,
        notes=["columns: " + ", ".join(f"{k}<-{v!r}" for k, v in manifest.mapping.items())],
    )
