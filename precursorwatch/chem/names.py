"""Chemical names: normalisation and the synonym index.

Names in manifests and orders vary in case, spacing, hyphens, Greek letters, protecting-group
spelling ("N-Boc", "1-boc", "tert-butoxycarbonyl") and salt words ("HCl", "monohydrate"). The
index keys every known name by a normal form so these variants meet, and falls back to fuzzy
matching (rapidfuzz) for typos, saying how close the match was.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz, process

Context = Literal["precursor", "general"]

_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "κ": "kappa",
    "λ": "lambda", "μ": "mu", "ω": "omega", "σ": "sigma", "τ": "tau", "π": "pi",
}
# Protecting groups written many ways; all become one token.
_PROTECTING_GROUPS = {
    "tertbutoxycarbonyl": "boc", "tbutoxycarbonyl": "boc", "tertbutyloxycarbonyl": "boc",
    "tboc": "boc", "tertboc": "boc", "boc": "boc",
    "benzyloxycarbonyl": "cbz", "carbobenzyloxy": "cbz", "carboxybenzyl": "cbz", "cbz": "cbz",
    "z": "z",
}
# Locant tokens that can stand before a protecting group without changing the substance
# ("1-Boc", "N-Boc", "1-N-Boc" on a piperidine all mean the ring nitrogen).
_PG_LOCANTS = {"1", "n", "n1", "1n"}

# Words for counter-ions and water; maps the word to how evidence names it.
SALT_WORDS: dict[str, str] = {
    "hydrochloride": "hydrochloride", "hcl": "hydrochloride", "monohydrochloride": "hydrochloride",
    "dihydrochloride": "dihydrochloride", "2hcl": "dihydrochloride",
    "hydrobromide": "hydrobromide", "hbr": "hydrobromide",
    "hydroiodide": "hydroiodide",
    "hydrate": "hydrate", "monohydrate": "monohydrate", "dihydrate": "dihydrate",
    "trihydrate": "trihydrate", "h2o": "hydrate", "hemihydrate": "hemihydrate",
    "oxalate": "oxalate", "citrate": "citrate", "dihydrogencitrate": "citrate",
    "sulfate": "sulfate", "sulphate": "sulfate", "bisulfate": "sulfate", "hemisulfate": "sulfate",
    "tartrate": "tartrate", "bitartrate": "tartrate", "maleate": "maleate",
    "fumarate": "fumarate", "mesylate": "mesylate", "methanesulfonate": "mesylate",
    "tosylate": "tosylate", "phosphate": "phosphate", "succinate": "succinate",
    "trifluoroacetate": "trifluoroacetate", "tfa": "trifluoroacetate",
    "salt": "salt", "freebase": "free base", "base": "free base",
}
# Salt words that are also ordinary parts of names ("ethyl acetate"): only stripped when the
# rest of the name is known.
_BOC_TAILS = {"butoxycarbonyl", "butyloxycarbonyl", "boc"}
_TOKEN_RE = re.compile(r"[a-z0-9]+")
_DIGITS = re.compile(r"\d+")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    for letter, word in _GREEK.items():
        text = text.replace(letter, f"{word}-").replace(letter.upper(), f"{word}-")
    return text.casefold()


def tokens(text: str) -> list[str]:
    """Lower-case alphanumeric tokens with protecting-group spellings unified."""
    toks = _TOKEN_RE.findall(_fold(text))
    # Join "tert butoxycarbonyl" / "t butoxycarbonyl" before unifying.
    joined: list[str] = []
    for tok in toks:
        if joined and joined[-1] in {"tert", "t"} and tok in _BOC_TAILS:
            joined[-1] = joined[-1] + tok
        else:
            joined.append(tok)
    out: list[str] = []
    for tok in joined:
        pg = _PROTECTING_GROUPS.get(tok)
        if pg is not None and pg != "z":
            while out and out[-1] in _PG_LOCANTS:
                out.pop()
            out.append(pg)
        else:
            out.append(tok)
    return out


def name_key(text: str) -> str:
    """The normal form under which names are indexed: tokens joined without separators."""
    return "".join(tokens(text))


def split_salt_words(text: str) -> tuple[str, tuple[str, ...]]:
    """Split trailing (or bracketed) salt and hydrate words off a name.

    Returns the key of what is left and the salt words found, e.g.
    "4-Piperidone HCl H2O" -> ("4piperidone", ("hydrochloride", "hydrate")).
    """
    toks = tokens(text)
    salts: list[str] = []
    kept: list[str] = []
    for i, tok in enumerate(toks):
        word = SALT_WORDS.get(tok)
        # "2 HCl" style: a bare count before a salt word belongs to it.
        if word is not None and i > 0:
            salts.append(word)
            if kept and kept[-1].isdigit() and len(kept) > 1:
                kept.pop()
        else:
            kept.append(tok)
    return "".join(kept), tuple(dict.fromkeys(salts))


@dataclass(frozen=True, slots=True)
class NameEntry:
    """One known chemical with every name it goes by."""

    ref: str  # stable id of the record the name came from
    name: str  # preferred name
    smiles: str
    context: Context
    cas: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    abbreviations: tuple[str, ...] = ()

    def all_names(self) -> tuple[str, ...]:
        return (self.name, *self.synonyms, *self.abbreviations)


@dataclass(frozen=True, slots=True)
class NameHit:
    entry: NameEntry
    alternatives: tuple[NameEntry, ...] = ()  # other chemicals the same name means
    score: float | None = None  # fuzzy similarity 0-100; None for exact
    matched_name: str = ""


class SynonymIndex:
    """Exact lookup by normal form, CAS and InChIKey, with a fuzzy fallback."""

    def __init__(self, entries: Iterable[NameEntry]) -> None:
        self.entries: tuple[NameEntry, ...] = tuple(entries)
        by_key: dict[str, list[NameEntry]] = defaultdict(list)
        self._display: dict[str, str] = {}
        for entry in self.entries:
            for nm in entry.all_names():
                key = name_key(nm)
                if key and entry not in by_key[key]:
                    by_key[key].append(entry)
                    self._display.setdefault(key, nm)
        self._by_key = dict(by_key)
        self._keys = list(self._by_key)
        self._by_cas: dict[str, list[NameEntry]] = defaultdict(list)
        for entry in self.entries:
            for cas in entry.cas:
                self._by_cas[cas].append(entry)

    def lookup(self, text: str) -> NameHit | None:
        """Exact lookup of a name (after normalisation)."""
        return self._hit(name_key(text))

    def lookup_key(self, key: str) -> NameHit | None:
        return self._hit(key)

    def _hit(self, key: str) -> NameHit | None:
        found = self._by_key.get(key)
        if not found:
            return None
        return _prefer_precursor(found, self._display.get(key, key))

    def by_cas(self, cas: str) -> NameHit | None:
        found = self._by_cas.get(cas)
        if not found:
            return None
        return _prefer_precursor(found, cas)

    def fuzzy(self, text: str, *, cutoff: float = 88.0) -> NameHit | None:
        """Closest known name by edit similarity (rapidfuzz ratio on normal forms)."""
        key = name_key(text)
        if len(key) < 5:  # short strings are abbreviations: a typo there is another chemical
            return None
        # Locants and counts are not typos: "3-piperidone" is another chemical than
        # "4-piperidone", so a candidate must carry the same digits in the same order.
        digits = _DIGITS.findall(key)
        candidates = process.extract(key, self._keys, scorer=fuzz.ratio, score_cutoff=cutoff,
                                     limit=10)
        best = next((c for c in candidates if _DIGITS.findall(c[0]) == digits), None)
        if best is None:
            return None
        matched_key, score, _ = best
        hit = _prefer_precursor(self._by_key[matched_key], self._display[matched_key])
        return NameHit(hit.entry, hit.alternatives, round(float(score), 1), hit.matched_name)


def _prefer_precursor(found: list[NameEntry], matched_name: str) -> NameHit:
    """Several chemicals share a name (e.g. "4-AP"): read it in the precursor context.

    The other meanings are kept as `alternatives` so the evidence can say so.
    """
    distinct: list[NameEntry] = []
    seen: set[str] = set()
    for e in sorted(found, key=lambda e: e.context != "precursor"):
        # One record (a substance and its salt forms share a ref) or one structure is one
        # meaning, however many names lead to it.
        if e.ref not in seen and e.smiles not in seen:
            seen.update((e.ref, e.smiles))
            distinct.append(e)
    return NameHit(distinct[0], tuple(distinct[1:]), None, matched_name)
