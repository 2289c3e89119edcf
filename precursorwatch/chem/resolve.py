"""One entry point that turns any identifier, or a batch of them, into a structure.

Order of attempts, cheapest and least ambiguous first: CAS number, InChI, InChIKey, synonym index
(exact, then with salt words split off), SMILES, the general vocabulary (about 75,000 compounds
with their PubChem names, synonyms and CAS numbers; exact, then with salt words split off), OPSIN
for systematic names it does not know (one Java process for the whole batch), fuzzy synonym match.
The listed substances and built-in chemicals are asked first and win for their names and numbers;
a compound of the general vocabulary whose structure is a known one is named as that one.
OPSIN gives a second opinion on names the vocabulary answered whenever it runs anyway; where
the two disagree the table's structure is used and the notes say so. Whatever cannot be
resolved says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from precursorwatch.chem.cas import CasError, looks_like_cas, parse_cas
from precursorwatch.chem.multilingual import (
    ForeignHit,
    ForeignIndex,
    ForeignVocabulary,
    bundled_vocabulary,
    has_cjk,
    language_name,
)
from precursorwatch.chem.names import (
    FuzzyMatcher,
    NameEntry,
    NameHit,
    SynonymIndex,
    first_known,
    split_salt_words,
    systematic_spelling,
)
from precursorwatch.chem.opsin import NameParser, OpsinProcess, OpsinUnavailable, names_to_smiles
from precursorwatch.chem.structure import Structure, StructureError, from_inchi, from_smiles
from precursorwatch.chem.vocabulary import (
    SOURCE_LABEL,
    Vocabulary,
    VocabularyEntry,
    VocabularyHit,
)

ResolvedBy = Literal["cas", "synonym", "iupac", "smiles", "inchi", "inchikey", "fuzzy", "none"]

MAX_IDENTIFIER_LENGTH = 1000
# OPSIN's second opinion costs a few ms a name; unless asked for always, a batch asks it about
# at most this many of the names the general vocabulary answered.
CROSS_CHECK_LIMIT = 500
# Structures named from the general vocabulary per query: few enough that their molecules are
# still at hand when a caller decides on them (structure.parent_mol).
_NAMING_CHUNK = 100
_INCHIKEY_RE = re.compile(r"^[A-Z]{14}-[A-Z]{10}-[A-Z]$")
# Characters that never occur in a SMILES string; their presence means "try it as a name".
_NOT_SMILES = re.compile(r"[\s,;:'\"!?&|{}<>^`~]")
# Characters only SMILES has (bond orders, stereo marks): such a string is never a name.
_SMILES_ONLY = re.compile(r"[=#@\\]")
# A bracket atom with an element symbol ("[Kr]", "[Na+]", "[13CH3]"), and text made only of
# SMILES tokens: such text with one is never a name either ("F[Kr]F"; a name's brackets hold
# locants or lower-case fusion letters, "benzo[b]thiophene", and letters outside the organic
# subset, "[14C]glycine").
_BRACKET_ATOM = (r"\[\d*(?:[A-Z][a-z]?|[bcnops]|se|as)(?:@@?|@[A-Z]{2}\d*)?(?:H\d*)?"
                 r"(?:[+-]{1,2}\d*)?(?::\d+)?\]")
_UPPER_BRACKET_ATOM = re.compile(r"\[\d*[A-Z]")
_SMILES_TOKENS = re.compile(
    rf"(?:{_BRACKET_ATOM}|Cl|Br|[BCNOPSFIbcnops*]|[-=#$:/\\.()]|%\d\d|\d)+")
# Bonds, stereo marks or a ring-closure digit on an atom: text like this is a SMILES when RDKit
# reads it, and the name look-ups it would otherwise go through first can be skipped.
_SMILES_FIRST = re.compile(r"[=#@\\]|[cnosCNOS]\d")
# The same test without the regular expression engine for ASCII text (nearly every SMILES):
# a bond or stereo mark, or an atom letter of the pattern ("a") right before a digit ("1").
_BOND_MARKS = frozenset("=#@\\")
_RING_CLOSURES = {i: "a" if chr(i) in "cnosCNOS" else "1" if chr(i) in "0123456789" else " "
                  for i in range(128)}
_SMILES_STRUCTURE = re.compile(r"\[\d*[A-Z]|[^(]\(|\.")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")


@dataclass(frozen=True, slots=True)
class Resolution:
    """What an identifier turned out to be, and how we know."""

    input: str
    resolved_by: ResolvedBy
    structure: Structure | None = None
    name: str | None = None
    cas: str | None = None
    ref: str | None = None  # NameEntry.ref of a known chemical, when the structure is one
    salt_words: tuple[str, ...] = ()  # salt/hydrate words given in the name ("hydrochloride")
    notes: tuple[str, ...] = ()
    reason: str | None = None  # why unresolved
    fuzzy_score: float | None = None
    language: str | None = None  # language of the name that matched ("en", "es", "zh"), if a name

    @property
    def resolved(self) -> bool:
        return self.structure is not None


@dataclass
class _Pending:
    text: str
    salt_words: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _TableAnswer:
    """A name the general vocabulary answered, kept for OPSIN's second opinion."""

    text: str
    hit: VocabularyHit
    salt_words: tuple[str, ...]


def _unresolved(text: str, reason: str) -> Resolution:
    return Resolution(input=text, resolved_by="none", reason=reason)


class Resolver:
    """Resolves identifiers against a synonym index, with caching across batches."""

    def __init__(self, entries: Iterable[NameEntry], *, use_opsin: bool = True,
                 name_parser: NameParser = names_to_smiles,
                 vocabulary: Vocabulary | None = None,
                 cross_check: bool | None = None,
                 foreign_names: ForeignVocabulary | None = None) -> None:
        """`name_parser` turns systematic names into SMILES: OPSIN started per batch by
        default, or an `OpsinProcess` kept running. `vocabulary` is the general table asked
        after `entries` (None: names and numbers outside `entries` go to OPSIN only).
        `cross_check`: ask OPSIN about names the vocabulary answered too: always (True), never
        (False), or only when it costs no JVM start (None: OPSIN runs for the batch anyway,
        or is kept running)."""
        # Spanish, Chinese, ... names (None: the bundled ones), and the chemicals known only
        # through them.
        foreign = bundled_vocabulary() if foreign_names is None else foreign_names
        self.index = SynonymIndex([*entries, *foreign.entries])
        self.foreign = ForeignIndex.build(foreign.names, self.index)
        self.use_opsin = use_opsin
        self.name_parser = name_parser
        self.vocabulary = vocabulary
        self.cross_check = cross_check
        self._cache: dict[str, Resolution] = {}
        self._matcher: FuzzyMatcher | None = None
        self._by_inchikey: dict[str, NameEntry] = {}
        self._by_skeleton: dict[str, NameEntry] = {}
        for entry in sorted(self.index.entries, key=lambda e: e.context != "precursor"):
            try:
                st = from_smiles(entry.smiles)
            except StructureError:
                continue  # reference data is checked by its own tests
            self._by_inchikey.setdefault(st.inchikey, entry)
            self._by_skeleton.setdefault(st.skeleton_key, entry)

    # -- public -----------------------------------------------------------------------------
    def resolve(self, identifier: str) -> Resolution:
        return self.resolve_batch([identifier])[0]

    def resolve_batch(self, identifiers: Sequence[str], *,
                      on_final: Callable[[Resolution], None] | None = None,
                      on_unnamed: Callable[[Resolution], None] | None = None,
                      ) -> list[Resolution]:
        """Resolve every identifier; input order kept; never raises for a bad identifier.

        `on_final` is called, while the batch goes on, with each new resolution that nothing
        later in the batch changes (not one left for OPSIN or its second opinion), soon
        after its structure was made. `on_unnamed` is called right after its structure was
        made with each new one that only the general vocabulary's name and CAS number will
        still change (it is then passed to `on_final` once the vocabulary was asked)."""
        todo: dict[str, _Pending] = {}
        answers: dict[str, _TableAnswer] = {}
        unnamed: dict[str, Resolution] = {}  # cached once named
        for text in identifiers:
            if text in self._cache or text in todo or text in unnamed:
                continue
            result = self._resolve_without_opsin(text, answers, unnamed)
            if isinstance(result, _Pending):
                todo[text] = result
            elif text not in unnamed:
                self._cache[text] = result
                if on_final is not None and text not in answers:
                    on_final(result)
            else:
                if on_unnamed is not None:
                    on_unnamed(result)
                if len(unnamed) >= _NAMING_CHUNK:
                    self._name_from_table(unnamed, on_final)
                    unnamed = {}
        self._name_from_table(unnamed, on_final)
        if not self._wants_cross_check(bool(todo)):
            answers = {}
        elif self.cross_check is None and len(answers) > CROSS_CHECK_LIMIT:
            answers = dict(list(answers.items())[:CROSS_CHECK_LIMIT])
        if todo or answers:
            self._finish_with_opsin(todo, answers)
        return [self._cache[text] for text in identifiers]

    def _wants_cross_check(self, opsin_runs: bool) -> bool:
        if not self.use_opsin or self.cross_check is False:
            return False
        return bool(self.cross_check or opsin_runs or isinstance(self.name_parser, OpsinProcess))

    def known_name(self, structure: Structure) -> NameEntry | None:
        """The known chemical with this structure (stereo-exact), if any."""
        return self._by_inchikey.get(structure.inchikey)

    # -- steps ------------------------------------------------------------------------------
    def _resolve_without_opsin(self, raw: str, answers: dict[str, _TableAnswer],
                               unnamed: dict[str, Resolution]) -> Resolution | _Pending:
        """Everything but OPSIN; names the general vocabulary answered go into `answers`,
        structures the general vocabulary may name into `unnamed` (see `_named`)."""
        if _CONTROL_CHARS.search(raw):
            return _unresolved(
                raw, "contains control characters or undecodable bytes (binary data?)"
            )
        text = raw.strip()
        if not text:
            return _unresolved(raw, "empty identifier")
        if len(text) > MAX_IDENTIFIER_LENGTH:
            return _unresolved(
                raw,
                f"identifier too long ({len(text)} characters; at most {MAX_IDENTIFIER_LENGTH})",
            )
        if looks_like_cas(text):
            return self._from_cas(raw, text)
        if text.startswith("InChI="):
            return self._from_structure(raw, text, "inchi", from_inchi)
        if len(text) == 27 and _INCHIKEY_RE.match(text):  # 14, 10 and 1 letters, 2 hyphens
            return self._from_inchikey(raw, text)
        smiles_failure: str | None = None  # RDKit's reason, once it has been asked
        if _smiles_first(text):
            try:
                st = from_smiles(text)
            except StructureError as exc:
                smiles_failure = str(exc)  # a name after all, or a broken SMILES: see below
            else:
                return self._named(Resolution(input=raw, resolved_by="smiles", structure=st),
                                   unnamed)
        foreign = self.foreign.lookup(text)
        if foreign is not None:
            return self._from_foreign(raw, foreign)
        if has_cjk(text):
            # No other step reads Chinese: English keys would keep only its Latin letters.
            return _unresolved(raw, f"no known chemical has the Chinese name {text[:80]!r}")
        base_key, salts = split_salt_words(text)
        hit = self.index.lookup(text)
        if hit is not None:
            # A salt form may itself be a listed synonym ("4-AP dihydrochloride"): still a salt.
            return self._from_name_hit(raw, hit, "synonym", salt_words=salts)
        if salts and base_key:
            hit = self.index.lookup_key(base_key)
            if hit is not None:
                return self._from_name_hit(raw, hit, "synonym", salt_words=salts)
        smiles_error: str | None = None
        if smiles_failure is not None:
            if _only_smiles(text):
                smiles_error = smiles_failure
        elif not _NOT_SMILES.search(text):
            try:
                st = from_smiles(text)
            except StructureError as exc:
                if _only_smiles(text):
                    smiles_error = str(exc)
            else:
                return self._named(Resolution(input=raw, resolved_by="smiles", structure=st),
                                   unnamed)
        if self.vocabulary is not None:
            # The whole vocabulary is asked exactly before OPSIN and before any fuzzy match,
            # first for the name as given (a salt's own name, "citric acid;fentanyl", is a
            # name of the table) ...
            found = self.vocabulary.by_name(text)
            table_salts: tuple[str, ...] = ()
            if found is None and salts and base_key:
                found, table_salts = self.vocabulary.by_key(base_key), salts
            if found is not None:
                res = self._from_table(raw, found, "synonym", salt_words=table_salts)
                if res is not None:
                    answers[raw] = _TableAnswer(text, found, table_salts)
                    return res
        if smiles_error is not None:
            # Bonds and stereo marks are not part of a name (unless the table has it as one,
            # "ch2=chch2c(o)och3"): OPSIN and typo matching cannot help, and OPSIN would cost
            # a JVM start.
            return _unresolved(raw, smiles_error)
        # ... then for its other spellings (names.name_variants: without tags and grades, in
        # natural order, without stereo descriptors, each ";"-joined part), each whole and then
        # without salt words: the built-in names first, so they win for every spelling.
        spelled = self.index.lookup_variants(text)
        if spelled is not None and spelled.variant is not None:
            named = self._from_name_hit(raw, spelled, "synonym",
                                        salt_words=spelled.variant.salt_words)
            if spelled.variant.note and named.structure is not None:
                named = replace(named, notes=(*named.notes, spelled.variant.note))
            return named
        if self.vocabulary is not None:
            known = first_known(text, self.vocabulary.by_key)
            if known is not None:
                found, variant = known
                table_salts = (() if self.vocabulary.by_key(variant.key) is not None
                               else variant.salt_words)
                res = self._from_table(raw, found, "synonym", salt_words=table_salts)
                if res is not None:
                    if variant.note:
                        res = replace(res, notes=(*res.notes, variant.note))
                    answers[raw] = _TableAnswer(text, found, table_salts)
                    return res
        # OPSIN reads the systematic spelling: tags and grades off, CAS index order, stereo kept.
        return _Pending(text=systematic_spelling(text), salt_words=salts)

    def _finish_with_opsin(self, todo: dict[str, _Pending],
                           answers: dict[str, _TableAnswer] | None = None) -> None:
        raws = list(todo)
        checked = list(answers or {})
        smiles: list[str | None] = [None] * len(raws)
        second: list[str | None] = [None] * len(checked)
        opsin_note: str | None = None
        if self.use_opsin:
            try:
                parsed = self.name_parser([todo[r].text for r in raws]
                                          + [answers[r].text for r in checked if answers])
            except OpsinUnavailable as exc:
                opsin_note = str(exc)
            else:
                smiles, second = parsed[: len(raws)], parsed[len(raws):]
        for raw, smi in zip(checked, second, strict=True):
            if smi and answers:
                self._second_opinion(raw, answers[raw], smi)
        for raw, smi in zip(raws, smiles, strict=True):
            pending = todo[raw]
            result: Resolution | None = None
            if smi:
                try:
                    st = from_smiles(smi)
                except StructureError:
                    st = None
                if st is not None:
                    # The name OPSIN understood is a fine display name until a known one wins.
                    result = self._named(
                        Resolution(input=raw, resolved_by="iupac", structure=st,
                                   name=pending.text, salt_words=pending.salt_words)
                    )
            if result is None:
                result = self._fuzzy(raw, pending.text)
            if result is None:
                reason = f"unknown name or unparsable structure: {raw.strip()[:80]!r}"
                if opsin_note:
                    reason += f" ({opsin_note})"
                result = _unresolved(raw, reason)
            self._cache[raw] = result

    def _fuzzy(self, raw: str, text: str) -> Resolution | None:
        """A typo correction, tried only after every exact lookup (the whole vocabulary
        included) and OPSIN missed. With the general vocabulary, its names compete too: a
        typo is read as a listed or built-in name only when no other compound's name is as
        close (names.FuzzyMatcher's margin), and may be read as a name of the table."""
        matcher = self._fuzzy_matcher()
        if matcher is None:
            hit = self.index.fuzzy(text)
            return self._from_name_hit(raw, hit, "fuzzy") if hit is not None else None
        found = matcher.match(text)  # one match: most unknown names have no correction
        if found is None or self.vocabulary is None:
            return None
        hit = self.index.fuzzy_hit(found)
        if hit is not None:
            return self._from_name_hit(raw, hit, "fuzzy")
        table = self.vocabulary.by_key(found.key)
        if table is None:
            return None
        res = self._from_table(raw, table, "fuzzy")
        if res is None:
            return None
        note = f"fuzzy match: {raw.strip()!r} read as {table.entry.name!r} ({found.note})"
        return replace(res, notes=(*res.notes, note), fuzzy_score=found.score)

    def _fuzzy_matcher(self) -> FuzzyMatcher | None:
        """One typo matcher over the built-in names and the table's common names,
        built at the first typo (about a second); substances keyed by InChIKey connectivity
        so the same compound in both does not compete with itself."""
        if self.vocabulary is None or not self.vocabulary.available:
            return None
        if self._matcher is None:
            skeleton: dict[str, str] = {}
            for entry in self.index.entries:
                st = _parse(entry.smiles)
                if st is not None:
                    skeleton.setdefault(entry.ref, st.skeleton_key)
            pairs = [(k, skeleton.get(ref, ref)) for k, ref in self.index.fuzzy_pairs()]
            self._matcher = FuzzyMatcher([*pairs, *self.vocabulary.fuzzy_pairs()])
        return self._matcher

    def _second_opinion(self, raw: str, answer: _TableAnswer, opsin_smiles: str) -> None:
        """Compare OPSIN's reading of a name with the table's answer; the table wins, and
        a disagreement is written in the notes. Where the table gives several compounds for
        the name and OPSIN's reading is one of them, that one is taken."""
        current = self._cache.get(raw)
        if current is None or current.structure is None:
            return
        try:
            opsin = from_smiles(opsin_smiles)
        except StructureError:
            return
        if _same_compound(opsin, current.structure):
            return
        for other in answer.hit.alternatives:
            st = _parse(other.smiles)
            if st is not None and _same_compound(opsin, st):
                picked = VocabularyHit(other, answer.hit.how,
                                       tuple(e for e in (answer.hit.entry,
                                                         *answer.hit.alternatives)
                                             if e is not other))
                res = self._from_table(raw, picked, "synonym", salt_words=answer.salt_words,
                                       choice="OPSIN's reading of the name agrees with it")
                if res is not None:
                    self._cache[raw] = res
                    return
        note = (f"OPSIN read {answer.text!r} as {opsin.smiles}; {SOURCE_LABEL} gives "
                f"{current.structure.smiles} ({current.name}); {current.structure.smiles} used")
        self._cache[raw] = replace(current, notes=(*current.notes, note))

    def _from_cas(self, raw: str, text: str) -> Resolution:
        try:
            cas = parse_cas(text)
        except CasError as exc:
            return _unresolved(raw, str(exc))
        hit = self.index.by_cas(cas.text)
        if hit is None and self.vocabulary is not None:
            found = self.vocabulary.by_cas(cas.text)
            if found is not None:
                res = self._from_table(raw, found, "cas", cas=cas.text)
                if res is not None:
                    return res
        if hit is None:
            res = _unresolved(raw, f"CAS {cas.text} is well-formed but not in the reference data")
            return replace(res, cas=cas.text)
        res = self._from_name_hit(raw, hit, "cas")
        return replace(res, cas=cas.text)

    def _from_inchikey(self, raw: str, key: str) -> Resolution:
        entry = self._by_inchikey.get(key)
        notes: tuple[str, ...] = ()
        if entry is None and self.vocabulary is not None:
            found = self.vocabulary.by_inchikey(key)
            if found is not None and (found.how == "inchikey"
                                      or self._by_skeleton.get(key.split("-")[0]) is None):
                res = self._from_table(raw, found, "inchikey")
                if res is not None:
                    return res
        if entry is None:
            entry = self._by_skeleton.get(key.split("-")[0])
            if entry is not None:
                notes = (f"InChIKey {key} matched {entry.name} on connectivity only "
                         "(another stereoisomer, isotope or protonation form)",)
        if entry is None:
            return _unresolved(raw, f"InChIKey {key} is not in the reference data "
                                    "(an InChIKey cannot be turned back into a structure)")
        res = self._from_entry(raw, entry, "inchikey")
        if notes:
            # The given key names the structure; keep the listed one only for its name.
            res = replace(res, notes=res.notes + notes)
        return res

    def _from_structure(self, raw: str, text: str, how: ResolvedBy, parse: object) -> Resolution:
        assert callable(parse)
        try:
            st = parse(text)
        except StructureError as exc:
            return _unresolved(raw, str(exc))
        return self._named(Resolution(input=raw, resolved_by=how, structure=st))

    def _from_name_hit(self, raw: str, hit: NameHit, how: ResolvedBy,
                       salt_words: tuple[str, ...] = ()) -> Resolution:
        ambiguous = [a for a in hit.alternatives if a.context == "precursor"]
        if hit.entry.context == "precursor" and ambiguous:
            names = ", ".join(e.name for e in (hit.entry, *ambiguous))
            return _unresolved(raw, f"ambiguous name {hit.matched_name!r}: could be {names}")
        res = self._from_entry(raw, hit.entry, how, salt_words=salt_words)
        notes = list(res.notes)
        if hit.alternatives:
            others = ", ".join(e.name for e in hit.alternatives)
            notes.append(
                f"{hit.matched_name!r} is ambiguous: also {others}; read as {hit.entry.name} "
                "(precursor context)"
            )
        if hit.score is not None:
            notes.append(f"fuzzy match: {raw.strip()!r} read as {hit.matched_name!r} "
                         f"(similarity {hit.score:.0f}/100)")
        return replace(res, notes=tuple(notes), fuzzy_score=hit.score,
                       language="en" if how in ("synonym", "fuzzy") else None)

    def _from_foreign(self, raw: str, hit: ForeignHit) -> Resolution:
        ambiguous = [a for a in hit.alternatives if a.context == "precursor"]
        if hit.entry.context == "precursor" and ambiguous:
            names = ", ".join(e.name for e in (hit.entry, *ambiguous))
            return _unresolved(raw, f"ambiguous name {hit.matched_name!r}: could be {names}")
        res = self._from_entry(raw, hit.entry, "synonym", salt_words=hit.salt_words)
        if res.structure is None:
            return res
        if hit.language == "en":
            # An English name spelt with accents ("Éphédrine"): nothing to explain.
            return replace(res, language="en")
        note = (f"{language_name(hit.language)} name {hit.matched_name!r} "
                f"({hit.entry.name})")
        return replace(res, language=hit.language, notes=(*res.notes, note))

    def _from_entry(self, raw: str, entry: NameEntry, how: ResolvedBy,
                    salt_words: tuple[str, ...] = ()) -> Resolution:
        try:
            st = from_smiles(entry.smiles)
        except StructureError as exc:
            return _unresolved(raw, f"reference structure of {entry.name} does not parse: {exc}")
        return Resolution(
            input=raw, resolved_by=how, structure=st, name=entry.name,
            cas=entry.cas[0] if entry.cas else None, ref=entry.ref, salt_words=salt_words,
        )

    def _named(self, res: Resolution,
               unnamed: dict[str, Resolution] | None = None) -> Resolution:
        """Attach the known name and CAS when a parsed structure is a known chemical.

        A structure only the general vocabulary may know is looked up there now, or, with
        `unnamed`, added to it: `_name_from_table` asks for a whole batch in one query."""
        assert res.structure is not None
        entry = self._by_inchikey.get(res.structure.inchikey)
        if entry is None:
            if self.vocabulary is not None and not res.structure.is_salt_or_hydrate:
                if unnamed is not None:
                    unnamed[res.input] = res
                    return res
                found = self.vocabulary.by_inchikeys([res.structure.inchikey])
                return _with_table_name(res, found)
            return res
        return Resolution(res.input, res.resolved_by, res.structure, entry.name,
                          entry.cas[0] if entry.cas else None, entry.ref, res.salt_words,
                          res.notes, res.reason, res.fuzzy_score, res.language)

    def _name_from_table(self, unnamed: dict[str, Resolution],
                         on_final: Callable[[Resolution], None] | None = None) -> None:
        """Name and cache the structures `_named` set aside, with one look-up for all."""
        if not unnamed:
            return
        found = {} if self.vocabulary is None else self.vocabulary.by_inchikeys(
            r.structure.inchikey for r in unnamed.values() if r.structure is not None)
        for text, res in unnamed.items():
            named = self._cache[text] = _with_table_name(res, found)
            if on_final is not None:
                on_final(named)

    def _from_table(self, raw: str, hit: VocabularyHit, how: ResolvedBy, *,
                    cas: str | None = None, salt_words: tuple[str, ...] = (),
                    choice: str | None = None) -> Resolution | None:
        """A Resolution from the general vocabulary; None when no structure of the hit parses.

        A compound that is a listed substance or built-in chemical (by its parent structure)
        is named and referenced as that one; a salt keeps the table's name ("fentanyl
        citrate") and the counter-ion stays on the structure, so the evidence says "salt".
        Where the key leads to several compounds, a listed one is preferred (as for
        ambiguous abbreviations) and the notes name the others."""
        candidates: list[tuple[VocabularyEntry, Structure]] = []
        for e in (hit.entry, *hit.alternatives):
            st = _parse(e.smiles)
            if st is not None:
                candidates.append((e, st))
        if not candidates:
            return None
        listed = [c for c in candidates if self._listed(c[1])]
        entry, st = listed[0] if listed and choice is None else candidates[0]
        known = self._by_inchikey.get(st.inchikey)
        notes = [_table_note(raw, hit, entry, cas)]
        others = [e for e, _ in candidates if e is not entry]
        if others:
            why = choice or ("the listed one" if listed else "the first by PubChem id")
            notes.append(f"{raw.strip()!r} names {len(candidates)} compounds in {SOURCE_LABEL}: "
                         f"{', '.join(e.name for e in [entry, *others])}; read as "
                         f"{entry.name} ({why})")
        name, ref = entry.name, None
        if known is not None:
            ref = known.ref
            # A salt of a known chemical is named by it and its counter-ions, not by the
            # table's name for the salt (often a brand: "novafed").
            # (Fragments without a word for them are written as SMILES: not part of a name.)
            name = " ".join((known.name, *(_SALT_NAMES.get(w, w) for w in st.stripped
                                           if w.replace(" ", "").isalpha())))
        return Resolution(
            input=raw, resolved_by=how, structure=st, name=name,
            cas=cas or entry.cas or (known.cas[0] if known and known.cas else None),
            ref=ref, salt_words=salt_words, notes=tuple(notes),
        )

    def _listed(self, st: Structure) -> bool:
        entry = self._by_inchikey.get(st.inchikey) or self._by_skeleton.get(st.skeleton_key)
        return entry is not None and entry.context == "precursor"


_SALT_NAMES = {"water": "hydrate"}


def _parse(smiles: str) -> Structure | None:
    try:
        return from_smiles(smiles)
    except StructureError:
        return None


def _with_table_name(res: Resolution, found: dict[str, VocabularyHit]) -> Resolution:
    """`res` with the name and CAS of the compound of the general vocabulary that has its
    InChIKey exactly, if there is one."""
    hit = found.get(res.structure.inchikey) if res.structure is not None else None
    if hit is None:
        return res
    # Built field by field: `dataclasses.replace` costs more than the look-up, for every
    # structure of a batch the vocabulary names.
    return Resolution(res.input, res.resolved_by, res.structure, res.name or hit.entry.name,
                      hit.entry.cas, res.ref, res.salt_words, res.notes, res.reason,
                      res.fuzzy_score, res.language)


def _smiles_first(text: str) -> bool:
    """Text to try as SMILES before any name: bonds, stereo marks or ring closures on atoms,
    or bracket atoms, branches or dots with nothing but SMILES around them ("[Na+].[Cl-]",
    "CC(C)N"). No name of a listed substance or built-in chemical in any language is written
    like that (abbreviations such as "NPP" have none of them)."""
    if _NOT_SMILES.search(text):
        return False
    if text.isascii():  # as _SMILES_FIRST, without the engine's working memory for each match
        if not _BOND_MARKS.isdisjoint(text) or "a1" in text.translate(_RING_CLOSURES):
            return True
    elif _SMILES_FIRST.search(text):
        return True
    return bool(_SMILES_STRUCTURE.search(text) and _SMILES_TOKENS.fullmatch(text))


def _only_smiles(text: str) -> bool:
    """Text that can only be meant as SMILES: bonds or stereo marks, or bracket atoms with
    nothing but SMILES around them. When RDKit cannot read it, no name look-up beyond the
    exact ones (OPSIN, other spellings, typos) can help."""
    return bool(_SMILES_ONLY.search(text)
                or (_UPPER_BRACKET_ATOM.search(text) and _SMILES_TOKENS.fullmatch(text)))


def _same_compound(a: Structure, b: Structure) -> bool:
    """Same InChIKey, or the same connectivity (stereo or protonation written differently)."""
    return a.inchikey == b.inchikey or a.skeleton_key == b.skeleton_key


def _table_note(raw: str, hit: VocabularyHit, entry: VocabularyEntry, cas: str | None) -> str:
    where = f"{SOURCE_LABEL} (PubChem CID {entry.pubchem})" if entry.pubchem else SOURCE_LABEL
    if hit.how == "secondary-cas":
        own = f" (CAS {entry.cas})" if entry.cas else ""
        return (f"CAS {cas} is given among the synonyms of {entry.name}{own} in {where}: "
                "a salt, hydrate, stereoisomer or former number of it")
    what = {"cas": f"CAS {cas}", "name": "name", "synonym": "synonym",
            "inchikey": "InChIKey", "skeleton": "InChIKey connectivity block"}[hit.how]
    note = f"{what} found in {where}"
    if hit.how == "skeleton":
        note += f"; {entry.name} has the same connectivity (another stereoisomer or form)"
    return note
