"""`check`: any identifier in, a Contract 1 verdict with its evidence out.

The Checker joins the chemistry layer (resolution to a standardised parent structure) with the
control lists (identity, salt, stereoisomer, family and class listings, one- or two-step routes to a
listed substance, similarity) and decides the verdict,
strongest first: controlled, designer, watch, clear; unresolved when there is no structure.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
from collections.abc import Callable, Collection, Sequence
from functools import cache
from importlib.resources import files

from rdkit import Chem

from precursorwatch.chem.multilingual import ForeignName, bundled_vocabulary
from precursorwatch.chem.names import NameEntry
from precursorwatch.chem.opsin import NameParser, OpsinProcess, names_to_smiles
from precursorwatch.chem.resolve import Resolution, Resolver
from precursorwatch.chem.structure import Structure, parent_mol, release_mol
from precursorwatch.chem.vocabulary import default_vocabulary
from precursorwatch.controls.model import ControlSet
from precursorwatch.controls.summary import parse_jurisdictions
from precursorwatch.detect.classes import class_matches
from precursorwatch.detect.designer import (
    MAX_DEPTH,
    fentanyl_targets,
    find_designer,
    route_core_in,
)
from precursorwatch.detect.identity import identity_matches, listed_later
from precursorwatch.detect.lookup import ControlIndex, control_index
from precursorwatch.detect.similarity import mol_fingerprint, nearest_listed
from precursorwatch.detect.verdict import Match, Verdict, VerdictName


class UnknownJurisdiction(ValueError):
    """A jurisdiction code that no list here covers."""


def normalise_jurisdictions(codes: Sequence[str] | None) -> frozenset[str] | None:
    """Upper-case, split on commas, and check each code; None means every jurisdiction."""
    if not codes:
        return None
    try:
        return frozenset(parse_jurisdictions(codes))
    except ValueError as exc:
        raise UnknownJurisdiction(str(exc)) from None


def common_chemicals() -> list[NameEntry]:
    """Everyday chemicals and medicines shipped with the package, so they resolve and stay clear."""
    text = (files("precursorwatch.chem") / "data" / "common_chemicals.csv").read_text("utf-8")
    rows = csv.DictReader(text.splitlines())
    return [
        NameEntry(
            ref=f"common:{r['ref']}", name=r["name"], smiles=r["smiles"], context="general",
            cas=tuple(c for c in r["cas"].split("|") if c),
            synonyms=tuple(s for s in (*r["synonyms"].split("|"), r["iupac"]) if s),
            abbreviations=tuple(a for a in r["abbreviations"].split("|") if a),
        )
        for r in rows
    ]


def control_entries(controls: ControlSet) -> list[NameEntry]:
    """Names of listed substances, then their traded salt forms (found by the salt's CAS or
    name; the structure keeps the counter-ion so the evidence says "salt"). The English names
    the listings write are synonyms; their other names are `listing_names`."""
    english: dict[str, list[str]] = {}
    for x in controls.listings:
        english.setdefault(x.substance, []).extend(n for lang, n in x.names if lang == "en")
    entries = [
        NameEntry(
            ref=f"listed:{s.id}", name=s.name, smiles=s.smiles, context="precursor",
            cas=s.cas, synonyms=(*s.synonyms, *english.get(s.id, ())),
            abbreviations=s.abbreviations,
        )
        for s in controls.substances
    ]
    entries += [
        NameEntry(ref=f"listed:{s.id}", name=f.name, smiles=f.smiles, context="precursor",
                  cas=(f.cas,))
        for s in controls.substances
        for f in s.salt_forms
    ]
    return entries


def listing_names(controls: ControlSet) -> list[ForeignName]:
    """The names the listings write in other languages than English ("efedrina" in Mexico's
    instrument, "麻黄碱" in China's), each with the address of its listing."""
    return [ForeignName(lang, name, ref=f"listed:{x.substance}", source=x.source)
            for x in controls.listings for lang, name in x.names if lang != "en" and name]


_Decision = tuple[VerdictName, tuple[Match, ...], tuple[str, ...]]
_log = logging.getLogger(__name__)


class Checker:
    """Resolves identifiers and decides verdicts; caches per identifier and per structure."""

    def __init__(self, controls: ControlSet, *, use_opsin: bool = True,
                 name_parser: NameParser = names_to_smiles) -> None:
        self.controls = controls
        self.index: ControlIndex = control_index(controls)
        self.resolver = Resolver([*control_entries(controls), *common_chemicals()],
                                 use_opsin=use_opsin, name_parser=name_parser,
                                 foreign_names=bundled_vocabulary().with_names(
                                     listing_names(controls)),
                                 vocabulary=default_vocabulary())
        self._decisions: dict[tuple[object, ...], _Decision] = {}
        # Decisions made before the vocabulary named the structure (`_decide_unnamed`), by
        # the key of `decide` without the name; taken when the named resolution comes.
        self._unnamed: dict[tuple[object, ...], _Decision] = {}
        self._fentanyl_rules = fentanyl_targets(controls).rules

    @classmethod
    def default(cls) -> Checker:
        """The Checker over the bundled control lists (built once per process)."""
        return _default_checker()

    @classmethod
    def long_running(cls) -> Checker:
        """The Checker over the bundled lists for a process that checks one identifier at a
        time for a long while (the exchange service): OPSIN stays running between names, so
        a new systematic name costs milliseconds, not a JVM start. Built once per process."""
        return _long_running_checker()

    # -- public -----------------------------------------------------------------------------
    def check(self, identifier: str, *, as_of: dt.date | None = None,
              jurisdictions: Sequence[str] | None = None, depth: int = 1) -> Verdict:
        return self.check_batch([identifier], as_of=as_of, jurisdictions=jurisdictions,
                                depth=depth)[0]

    def check_batch(self, identifiers: Sequence[str], *, as_of: dt.date | None = None,
                    jurisdictions: Sequence[str] | None = None, depth: int = 1) -> list[Verdict]:
        """One verdict per identifier, in input order. Raises only for bad options
        (UnknownJurisdiction, ValueError for depth), never for a bad identifier."""
        if depth < 0 or depth > MAX_DEPTH:
            raise ValueError(f"depth must be between 0 and {MAX_DEPTH}, not {depth}")
        on = as_of or dt.date.today()
        wanted = normalise_jurisdictions(jurisdictions)
        # A resolution the resolver reports final while the batch goes on is decided at once,
        # while its structure's molecule is still at hand; the rest after the batch.
        early: dict[str, tuple[Resolution, Verdict]] = {}

        def decide_now(res: Resolution) -> None:
            early[res.input] = (res, self._verdict(res, on, wanted, depth))
            if res.structure is not None:
                release_mol(res.structure)

        def decide_unnamed(res: Resolution) -> None:
            if res.structure is None:
                return
            try:
                self._decide_unnamed(res.structure, on, wanted, depth, res.salt_words)
            except Exception:  # decided again once named, where the error becomes its reason
                _log.debug("deciding %r before naming failed", res.input, exc_info=True)

        out: list[Verdict] = []
        for res in self._resolve_safely(list(identifiers), decide_now, decide_unnamed):
            found = early.get(res.input)
            out.append(found[1] if found is not None and found[0] is res
                       else self._verdict(res, on, wanted, depth))
        return out

    def decide(self, structure: Structure, *, as_of: dt.date,
               jurisdictions: Collection[str] | None = None, depth: int = 1,
               salt_words: tuple[str, ...] = (), name: str | None = None) -> _Decision:
        """Verdict, evidence and notes for a resolved structure (`name` words explanations)."""
        # The whole Structure (stripped fragments, alternatives), not only its InChIKey: two
        # salts with one parent must each report what was removed from them.
        key = (structure, salt_words, as_of,
               None if jurisdictions is None else frozenset(jurisdictions), depth, name)
        found = self._decisions.get(key)
        if found is None and self._unnamed:
            found = self._unnamed.pop(key[:-1], None)
        if found is None:
            found = self._decide(structure, as_of, jurisdictions, depth, salt_words, name)
            if len(self._decisions) > 500_000:
                self._decisions.clear()
            self._decisions[key] = found
        return found

    # -- internals --------------------------------------------------------------------------
    def _decide_unnamed(self, structure: Structure, on: dt.date,
                        wanted: frozenset[str] | None, depth: int,
                        salt_words: tuple[str, ...]) -> None:
        """Decide a structure the vocabulary has still to name, right after it was made, and
        let its molecule go: deciding and freeing it a naming query later costs more. Without
        the route core the name plays no part in the decision (see `_decide`); with it the
        structure waits for its name."""
        key = (structure, salt_words, on, wanted, depth)
        mol = parent_mol(structure)
        if _route_core(structure, mol):
            return
        if len(self._unnamed) > 10_000:  # what a failed batch left behind
            self._unnamed.clear()
        self._unnamed[key] = self._decide(structure, on, wanted, depth, salt_words, None,
                                          mol=mol, core=False)
        release_mol(structure)

    def _resolve_safely(self, identifiers: list[str],
                        on_final: Callable[[Resolution], None] | None = None,
                        on_unnamed: Callable[[Resolution], None] | None = None,
                        ) -> list[Resolution]:
        """Resolutions in input order. An identifier whose resolution fails unexpectedly is
        unresolved with the reason and the rest go on: the batch is halved until the failing
        identifier is alone (what resolved before the failure is cached, OPSIN runs per half)."""
        try:
            return self.resolver.resolve_batch(identifiers, on_final=on_final,
                                               on_unnamed=on_unnamed)
        except Exception as exc:  # one odd identifier must not cost the whole batch
            if len(identifiers) == 1:
                _log.debug("internal error while resolving %r", identifiers[0], exc_info=True)
                return [Resolution(input=identifiers[0], resolved_by="none",
                                   reason=f"internal error while checking: {_describe(exc)}")]
            half = len(identifiers) // 2
            return (self._resolve_safely(identifiers[:half], on_final, on_unnamed)
                    + self._resolve_safely(identifiers[half:], on_final, on_unnamed))

    def _verdict(self, res: Resolution, on: dt.date, wanted: frozenset[str] | None,
                 depth: int) -> Verdict:
        try:
            return self._verdict_of(res, on, wanted, depth)
        except Exception as exc:  # an unforeseen structure gets a reason, not a traceback
            _log.debug("internal error while checking %r", res.input, exc_info=True)
            smiles = f" ({res.structure.smiles})" if res.structure is not None else ""
            return Verdict(input=res.input, resolved_by="none", verdict="unresolved",
                           name=res.name or None, cas=res.cas, notes=list(res.notes),
                           reason=f"internal error while checking{smiles}: {_describe(exc)}")

    def _verdict_of(self, res: Resolution, on: dt.date, wanted: frozenset[str] | None,
                    depth: int) -> Verdict:
        if res.structure is None:
            return Verdict(input=res.input, resolved_by="none", verdict="unresolved",
                           cas=res.cas, reason=res.reason, notes=list(res.notes))
        verdict, matches, notes = self.decide(res.structure, as_of=on, jurisdictions=wanted,
                                              depth=depth, salt_words=res.salt_words,
                                              name=res.name)
        return Verdict(
            input=res.input, resolved_by=res.resolved_by, name=res.name or None,
            smiles=res.structure.smiles, inchikey=res.structure.inchikey, cas=res.cas,
            language=res.language, verdict=verdict, matches=list(matches),
            notes=[*res.notes, *notes],
        )

    def _decide(self, structure: Structure, on: dt.date, wanted: Collection[str] | None,
                depth: int, salt_words: tuple[str, ...], name: str | None, *,
                mol: Chem.Mol | None = None, core: bool | None = None) -> _Decision:
        # One molecule for the rules, the gate and the fingerprint: the one standardisation
        # made when the structure is new (see check_batch), else restored once.
        mol = mol if mol is not None else parent_mol(structure)
        # Every fentanyl family and class rule and every route needs the route core (see
        # designer.ROUTE_CORE_SMARTS, pinned by the tests on the lists): without it (most
        # structures) those rules are not tried and no route is looked for. `name` is used
        # only then.
        core = core if core is not None else _route_core(structure, mol)
        # Most structures are no listed substance and no part of one is: the identity and
        # later-listing searches have nothing to find.
        listed = any(p.inchikey in self.index.by_inchikey
                     or p.skeleton_key in self.index.by_skeleton for p in structure.components)
        found = identity_matches(structure, self.index, as_of=on, jurisdictions=wanted,
                                 salt_words=salt_words) if listed else []
        found += class_matches(structure, self.index, as_of=on, jurisdictions=wanted, mol=mol,
                               skip=frozenset() if core else self._fentanyl_rules)
        control = tuple(m for m in found if m.effect == "control")
        watch = tuple(m for m in found if m.effect == "watch")
        notes: list[str] = []
        if structure.stripped:
            notes.append("standardised to the parent: removed " + ", ".join(structure.stripped))
        if control:
            return "controlled", control + watch, tuple(notes)
        for listing in (listed_later(structure, self.index, as_of=on, jurisdictions=wanted)
                        if listed else ()):
            when = (f"from {listing.since.isoformat()}" if listing.since > on
                    else f"until {listing.until.isoformat() if listing.until else ''}")
            notes.append(f"listed in {listing.jurisdiction} {listing.list} {when}, "
                         f"not in force on {on.isoformat()}")
        routes: list[Match] = []
        if core:
            if name is None:
                known = self.resolver.known_name(structure)
                name = known.name if known else None
            routes = find_designer(structure, self.controls, as_of=on, jurisdictions=wanted,
                                   depth=depth, name=name)
        designer = tuple(m for m in routes if m.effect == "control")
        if designer:
            return "designer", designer + watch, tuple(notes)
        watch += tuple(m for m in routes if m.effect == "watch")
        if not watch:
            near = nearest_listed(structure, self.controls, as_of=on, jurisdictions=wanted,
                                  fingerprint=mol_fingerprint(mol))
            if near is not None:
                watch = (near,)
        if watch:
            return "watch", watch, tuple(notes)
        return "clear", (), tuple(notes)


def _route_core(structure: Structure, mol: Chem.Mol) -> bool:
    """`route_core_in` for the parent: a SMILES with no nitrogen at all ("N" or "n", which
    every element symbol with the letter only adds to) has no ring nitrogen, so no core."""
    return ("N" in structure.smiles or "n" in structure.smiles) and route_core_in(mol)


def _describe(exc: BaseException) -> str:
    """One line naming an unexpected error: its type and the first line of its message."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:200]}" if text else type(exc).__name__


@cache
def _default_checker() -> Checker:
    from precursorwatch.controls.load import load_controls

    return Checker(load_controls())


@cache
def _long_running_checker() -> Checker:
    from precursorwatch.controls.load import load_controls

    return Checker(load_controls(), name_parser=OpsinProcess())
