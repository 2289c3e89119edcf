"""One entry point that turns any identifier, or a batch of them, into a structure.

Order of attempts, cheapest and least ambiguous first: CAS number, InChI, InChIKey, synonym index
(exact, then with salt words split off), SMILES, OPSIN for systematic names (one Java process for
the whole batch), fuzzy synonym match. Whatever cannot be resolved says why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from precursorwatch.chem.cas import CasError, looks_like_cas, parse_cas
from precursorwatch.chem.names import NameEntry, NameHit, SynonymIndex, split_salt_words
from precursorwatch.chem.opsin import NameParser, OpsinUnavailable, names_to_smiles
from precursorwatch.chem.structure import Structure, StructureError, from_inchi, from_smiles

ResolvedBy = Literal["cas", "synonym", "iupac", "smiles", "inchi", "inchikey", "fuzzy", "none"]

MAX_IDENTIFIER_LENGTH = 1000
_INCHIKEY_RE = re.compile(r"^[A-Z]{14}-[A-Z]{10}-[A-Z]$")
# Characters that never occur in a SMILES string; their presence means "try it as a name".
_NOT_SMILES = re.compile(r"[\s,;:'\"!?&|{}<>^`~]")
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


def _unresolved(text: str, reason: str) -> Resolution:
    return Resolution(input=text, resolved_by="none", reason=reason)


class Resolver:
    """Resolves identifiers against a synonym index, with caching across batches."""

    def __init__(self, entries: Iterable[NameEntry], *, use_opsin: bool = True,
                 name_parser: NameParser = names_to_smiles) -> None:
        """`name_parser` turns systematic names into SMILES: OPSIN started per batch by
        default, or an `OpsinProcess` kept running."""
        self.index = SynonymIndex(entries)
        self.use_opsin = use_opsin
        self.name_parser = name_parser
        self._cache: dict[str, Resolution] = {}
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

    def resolve_batch(self, identifiers: Sequence[str]) -> list[Resolution]:
        """Resolve every identifier; input order kept; never raises for a bad identifier."""
        todo: dict[str, _Pending] = {}
        for text in identifiers:
            if text in self._cache or text in todo:
                continue
            result = self._resolve_without_opsin(text)
            if isinstance(result, Resolution):
                self._cache[text] = result
            else:
                todo[text] = result
        if todo:
            self._finish_with_opsin(todo)
        return [self._cache[text] for text in identifiers]

    def known_name(self, structure: Structure) -> NameEntry | None:
        """The known chemical with this structure (stereo-exact), if any."""
        return self._by_inchikey.get(structure.inchikey)

    # -- steps ------------------------------------------------------------------------------
    def _resolve_without_opsin(self, raw: str) -> Resolution | _Pending:
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
        if _INCHIKEY_RE.match(text):
            return self._from_inchikey(raw, text)
        base_key, salts = split_salt_words(text)
        hit = self.index.lookup(text)
        if hit is not None:
            # A salt form may itself be a listed synonym ("4-AP dihydrochloride"): still a salt.
            return self._from_name_hit(raw, hit, "synonym", salt_words=salts)
        if salts and base_key:
            hit = self.index.lookup_key(base_key)
            if hit is not None:
                return self._from_name_hit(raw, hit, "synonym", salt_words=salts)
        if not _NOT_SMILES.search(text):
            try:
                st = from_smiles(text)
            except StructureError:
                pass
            else:
                return self._named(Resolution(input=raw, resolved_by="smiles", structure=st))
        return _Pending(text=text, salt_words=salts)

    def _finish_with_opsin(self, todo: dict[str, _Pending]) -> None:
        raws = list(todo)
        smiles: list[str | None] = [None] * len(raws)
        opsin_note: str | None = None
        if self.use_opsin:
            try:
                smiles = self.name_parser([todo[r].text for r in raws])
            except OpsinUnavailable as exc:
                opsin_note = str(exc)
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
                fuzzy = self.index.fuzzy(pending.text)
                if fuzzy is not None:
                    result = self._from_name_hit(raw, fuzzy, "fuzzy")
            if result is None:
                reason = f"unknown name or unparsable structure: {pending.text[:80]!r}"
                if opsin_note:
                    reason += f" ({opsin_note})"
                result = _unresolved(raw, reason)
            self._cache[raw] = result

    def _from_cas(self, raw: str, text: str) -> Resolution:
        try:
            cas = parse_cas(text)
        except CasError as exc:
            return _unresolved(raw, str(exc))
        hit = self.index.by_cas(cas.text)
        if hit is None:
            res = _unresolved(raw, f"CAS {cas.text} is well-formed but not in the reference data")
            return replace(res, cas=cas.text)
        res = self._from_name_hit(raw, hit, "cas")
        return replace(res, cas=cas.text)

    def _from_inchikey(self, raw: str, key: str) -> Resolution:
        entry = self._by_inchikey.get(key)
        notes: tuple[str, ...] = ()
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
        return replace(res, notes=tuple(notes), fuzzy_score=hit.score)

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

    def _named(self, res: Resolution) -> Resolution:
        """Attach the known name and CAS when a parsed structure is a known chemical."""
        assert res.structure is not None
        entry = self._by_inchikey.get(res.structure.inchikey)
        if entry is None:
            return res
        return replace(res, name=entry.name, cas=entry.cas[0] if entry.cas else None,
                       ref=entry.ref)
