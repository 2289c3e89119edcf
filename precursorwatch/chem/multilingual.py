"""Spanish, Chinese and other non-English names of chemicals.

Authorities write `efedrina`, `anhídrido acético`, `麻黄碱`, `醋酸酐`; their own lists are
written that way. The names come from a cited data file (`data/names_multilingual.yaml`) and
from the control listings' own names (`Listing.names`), and each points at a chemical the
synonym index already knows (by ref or CAS) or one the data file defines.

Names are compared on a folded key: Unicode compatibility forms, case, accents, spaces and
punctuation do not count ("Anhidrido  acetico" meets "anhídrido acético"; full-width
"Ｎ－苯乙基" meets "N-苯乙基"). Salt and hydrate words are split off the key, in the word
orders Spanish and Chinese use: "clorhidrato de efedrina", "efedrina clorhidrato",
"盐酸麻黄碱", "麻黄碱盐酸盐", "4-哌啶酮盐酸盐一水合物"; they come back as the English words the
rest of the product uses ("hydrochloride", "monohydrate"). Traditional characters (Hong Kong,
Taiwan: "鹽酸麻黃鹼") are read as the simplified ones the names are kept in (OpenCC).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

from precursorwatch.chem.names import SALT_WORDS, NameEntry, SynonymIndex

# CJK unified ideographs (with extension A and the compatibility block).
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63"})

# Salt and hydrate affixes on a folded key, with the English word each stands for (None: a
# word that says nothing about the salt, e.g. "base"). Longest first within each list, so
# "diclorhidrato" is not read as "clorhidrato" and "二盐酸盐" not as "盐".
_PREFIXES: tuple[tuple[str, str | None], ...] = tuple(sorted((
    # Spanish: "clorhidrato de efedrina"
    ("clorhidratode", "hydrochloride"), ("hidroclorurode", "hydrochloride"),
    ("diclorhidratode", "dihydrochloride"), ("dicloridratode", "dihydrochloride"),
    ("dihidroclorurode", "dihydrochloride"), ("bromhidratode", "hydrobromide"),
    ("hidrobromurode", "hydrobromide"), ("yodhidratode", "hydroiodide"),
    ("sulfatode", "sulfate"), ("citratode", "citrate"), ("tartratode", "tartrate"),
    ("bitartratode", "tartrate"), ("fosfatode", "phosphate"), ("oxalatode", "oxalate"),
    ("maleatode", "maleate"), ("fumaratode", "fumarate"), ("mesilatode", "mesylate"),
    ("succinatode", "succinate"), ("acetatode", "acetate"),
    # Chinese: "盐酸麻黄碱", "硫酸…", "枸橼酸芬太尼"
    ("盐酸", "hydrochloride"), ("氢氯酸", "hydrochloride"), ("氢溴酸", "hydrobromide"),
    ("氢碘酸", "hydroiodide"), ("硫酸", "sulfate"), ("磷酸", "phosphate"),
    ("枸橼酸", "citrate"), ("柠檬酸", "citrate"), ("酒石酸", "tartrate"),
    ("重酒石酸", "tartrate"), ("草酸", "oxalate"), ("马来酸", "maleate"),
    ("富马酸", "fumarate"), ("甲磺酸", "mesylate"), ("琥珀酸", "succinate"),
), key=lambda p: -len(p[0])))
_SUFFIXES: tuple[tuple[str, str | None], ...] = tuple(sorted((
    # Spanish: "efedrina clorhidrato monohidrato"
    ("clorhidrato", "hydrochloride"), ("hidrocloruro", "hydrochloride"),
    ("diclorhidrato", "dihydrochloride"), ("dicloridrato", "dihydrochloride"),
    ("bromhidrato", "hydrobromide"), ("sulfato", "sulfate"), ("citrato", "citrate"),
    ("tartrato", "tartrate"), ("bitartrato", "tartrate"), ("fosfato", "phosphate"),
    ("oxalato", "oxalate"), ("maleato", "maleate"), ("fumarato", "fumarate"),
    ("mesilato", "mesylate"), ("monohidrato", "monohydrate"), ("monohidratado", "monohydrate"),
    ("hidrato", "hydrate"), ("hidratado", "hydrate"), ("dihidrato", "dihydrate"),
    ("trihidrato", "trihydrate"), ("hemihidrato", "hemihydrate"), ("sal", "salt"),
    ("baselibre", None), ("base", None),
    # Chinese: "麻黄碱盐酸盐", "4-哌啶酮盐酸盐一水合物"
    ("盐酸盐", "hydrochloride"), ("单盐酸盐", "hydrochloride"), ("二盐酸盐", "dihydrochloride"),
    ("双盐酸盐", "dihydrochloride"), ("氢溴酸盐", "hydrobromide"), ("氢碘酸盐", "hydroiodide"),
    ("硫酸盐", "sulfate"), ("磷酸盐", "phosphate"), ("枸橼酸盐", "citrate"),
    ("柠檬酸盐", "citrate"), ("酒石酸盐", "tartrate"), ("草酸盐", "oxalate"),
    ("马来酸盐", "maleate"), ("富马酸盐", "fumarate"), ("甲磺酸盐", "mesylate"),
    ("一水合物", "monohydrate"), ("单水合物", "monohydrate"), ("一水物", "monohydrate"),
    ("二水合物", "dihydrate"), ("二水物", "dihydrate"), ("三水合物", "trihydrate"),
    ("半水合物", "hemihydrate"), ("水合物", "hydrate"), ("盐", "salt"), ("游离碱", None),
    # English words written after a Spanish or Chinese name: "麻黄碱 HCl", "efedrina HCl"
    *((k, None if v == "free base" else v) for k, v in SALT_WORDS.items()),
), key=lambda p: -len(p[0])))
_MAX_AFFIXES = 4  # "clorhidrato de 4-piperidona monohidrato": at most this many words stripped

DATA_FILE = "names_multilingual.yaml"


def has_cjk(text: str) -> bool:
    """Whether the text holds Chinese characters."""
    return _CJK_RE.search(text) is not None


@cache
def _traditional_to_simplified() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """Chinese text in simplified characters ("麻黃鹼" -> "麻黄碱"); other text unchanged."""
    return str(_traditional_to_simplified().convert(text)) if has_cjk(text) else text


def normalise_text(text: str) -> str:
    """Compatibility forms, dashes and traditional Chinese characters unified; case and accents
    kept (for display and scans)."""
    return simplified(unicodedata.normalize("NFKC", text).translate(_DASHES))


def fold(text: str) -> str:
    """Case, accents and compatibility forms folded: the form names are compared in."""
    decomposed = unicodedata.normalize("NFKD", normalise_text(text).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def name_key(text: str) -> str:
    """The key of a name: folded, letters (any script) and digits only."""
    return "".join(c for c in fold(text) if c.isalnum())


def split_salt_affixes(key: str, known: Container[str] | None = None
                       ) -> list[tuple[str, tuple[str, ...]]]:
    """Every way of reading `key` as a base key plus salt or hydrate affixes.

    Returns (base key, English salt words) pairs, fewest affixes first, the key itself first;
    with `known`, only bases in it. "盐酸麻黄碱盐" -> [..., ("麻黄碱", ("hydrochloride", "salt"))].
    """
    out: list[tuple[str, tuple[str, ...]]] = []
    # (base, words of the prefixes stripped, in text order; words of the suffixes, likewise)
    Reading = tuple[str, tuple[str | None, ...], tuple[str | None, ...]]
    frontier: list[Reading] = [(key, (), ())]
    seen = {key}
    for _ in range(_MAX_AFFIXES + 1):
        nxt: list[Reading] = []
        for base, pre, suf in frontier:
            if known is None or base in known:
                out.append((base, tuple(dict.fromkeys(w for w in (*pre, *suf) if w))))
            for affix, word in _PREFIXES:
                rest = base[len(affix):]
                if base.startswith(affix) and rest and rest not in seen:
                    seen.add(rest)
                    nxt.append((rest, (*pre, word), suf))
            for affix, word in _SUFFIXES:
                rest = base[:-len(affix)]
                if base.endswith(affix) and rest and rest not in seen:
                    seen.add(rest)
                    nxt.append((rest, pre, (word, *suf)))
        frontier = nxt
    return out


@dataclass(frozen=True, slots=True)
class ForeignName:
    """A name of a chemical in a language other than English.

    The chemical is found by `ref` (a NameEntry.ref: "listed:<substance id>",
    "common:<ref>"), else by `cas`.
    """

    language: str  # ISO 639-1: "es", "zh", "fr", ...
    name: str
    ref: str = ""
    cas: str = ""
    source: str = ""  # where the name is written (address), for the evidence


@dataclass(frozen=True, slots=True)
class ForeignVocabulary:
    """Foreign names, and the chemicals known only through them (e.g. methylephedrine)."""

    names: tuple[ForeignName, ...] = ()
    entries: tuple[NameEntry, ...] = ()

    def with_names(self, more: Iterable[ForeignName]) -> ForeignVocabulary:
        return ForeignVocabulary((*self.names, *more), self.entries)


@dataclass(frozen=True, slots=True)
class ForeignHit:
    """A known chemical found by a foreign name, with the salt words given around it."""

    entry: NameEntry
    language: str
    matched_name: str
    salt_words: tuple[str, ...] = ()
    alternatives: tuple[NameEntry, ...] = ()


_LANGUAGE_NAMES = {"es": "Spanish", "zh": "Chinese", "fr": "French", "en": "English"}


def language_name(code: str) -> str:
    return _LANGUAGE_NAMES.get(code, code)


@dataclass
class ForeignIndex:
    """Foreign names keyed for exact lookup, each pointing at an entry of a synonym index.

    A name spelt as its chemical's English name ("piperonal", "éphédrine") answers as English;
    Spanish names among the English synonyms stay Spanish. Names whose chemical is in neither
    are kept in `unplaced`.
    """

    by_key: dict[str, list[tuple[NameEntry, ForeignName]]] = field(default_factory=dict)
    unplaced: list[ForeignName] = field(default_factory=list)

    @classmethod
    def build(cls, names: Iterable[ForeignName], index: SynonymIndex) -> ForeignIndex:
        by_ref: dict[str, NameEntry] = {}
        for known in index.entries:
            by_ref.setdefault(known.ref, known)  # a substance before its salt forms
        english: dict[str, set[str]] = {}
        out = cls()
        for fn in names:
            entry = by_ref.get(fn.ref) if fn.ref else None
            if (entry is None or entry.context != "precursor") and fn.cas:
                # A chemical defined with the names, once the lists carry it, is the listed one.
                hit = index.by_cas(fn.cas)
                if hit is not None and (entry is None or hit.entry.context == "precursor"):
                    entry = hit.entry
            if entry is None:
                out.unplaced.append(fn)
                continue
            key = name_key(fn.name)
            if not key:
                continue
            keys = english.get(entry.ref)
            if keys is None:
                keys = english[entry.ref] = {name_key(n) for n in
                                             (entry.name, *entry.abbreviations)}
            if key in keys:
                # Spelt as its English name but for accents or case: it is read as English.
                fn = ForeignName("en", fn.name, fn.ref, fn.cas, fn.source)
            found = out.by_key.setdefault(key, [])
            if all(e.ref != entry.ref for e, _ in found):
                found.append((entry, fn))
        return out

    def names(self, language: str | None = None) -> list[str]:
        """Every name (in one language, or all), as written, longest first."""
        out = {fn.name for found in self.by_key.values() for _, fn in found
               if language is None or fn.language == language}
        return sorted(out, key=lambda n: (-len(n), n))

    def lookup(self, text: str) -> ForeignHit | None:
        """The chemical a foreign name (with any salt or hydrate words) means, if known."""
        key = name_key(text)
        if not key:
            return None
        found = self.by_key.get(key)
        salts: tuple[str, ...] = ()
        if found is None:
            readings = split_salt_affixes(key, self.by_key)
            if not readings:
                return None
            base, salts = readings[0]
            found = self.by_key[base]
        ordered = sorted(found, key=lambda f: f[0].context != "precursor")
        entry, fn = ordered[0]
        return ForeignHit(entry, fn.language, fn.name, salts,
                          tuple(e for e, _ in ordered[1:]))


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def parse_vocabulary(data: dict[str, Any]) -> ForeignVocabulary:
    """The vocabulary of a parsed names file (see the file's header for its fields)."""
    sources: dict[str, Any] = data.get("sources") or {}
    names: list[ForeignName] = []
    entries: list[NameEntry] = []
    for item in data.get("chemicals") or []:
        cas = str(item.get("cas") or "")
        ref = ""
        if item.get("substance"):
            ref = f"listed:{item['substance']}"
        elif item.get("ref"):
            ref = str(item["ref"])
        elif item.get("define"):
            d = item["define"]
            ref = f"names:{d['name']}"
            entries.append(NameEntry(
                ref=ref, name=str(d["name"]), smiles=str(d["smiles"]), context="general",
                cas=tuple(_as_list(d.get("cas"))),
                synonyms=tuple(s for s in [str(item.get("en") or "")] if s),
            ))
        addresses = [str((sources.get(s) or {}).get("url") or "")
                     for s in _as_list(item.get("sources"))]
        source = next((a for a in addresses if a), "")
        for language in ("es", "zh", "fr", "pt"):
            for nm in _as_list(item.get(language)):
                names.append(ForeignName(language, nm, ref=ref, cas=cas, source=source))
    return ForeignVocabulary(tuple(names), tuple(entries))


def read_names_file() -> dict[str, Any]:
    text = (files("precursorwatch.chem") / "data" / DATA_FILE).read_text("utf-8")
    # libyaml when built in: the pure-Python parser takes ten times as long on this file
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert isinstance(data, dict), DATA_FILE
    return data


@cache
def bundled_vocabulary() -> ForeignVocabulary:
    """The names shipped with the package (built once per process)."""
    return parse_vocabulary(read_names_file())


def cjk_names(names: Sequence[str]) -> list[str]:
    """The names worth scanning Chinese text for: with Chinese characters, two or more."""
    return [n for n in names if len(_CJK_RE.findall(n)) >= 2 or
            (has_cjk(n) and len(name_key(n)) >= 3)]
