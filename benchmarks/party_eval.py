"""Party matching, judged on names it was not tuned on: recall, false alarms and speed.

Truth comes from the lists themselves, not from the matcher: positives are variants of real
OFAC SDN (2021) and UN consolidated (2026) names, made by a generator that knows nothing of the
matcher (typos, a lost first letter, a transposed pair, misspelt trade words, reordered words,
legal forms rewritten, Korean and Chinese romanisations, Cyrillic script, a dropped middle
name), each labelled with the entry it came from; negatives are ordinary names made from word
pools, some built around a listed name's distinctive word, none equal to a listed name. The
matcher runs against the full lists; a plain rapidfuzz `token_sort_ratio` best match is the
baseline, with its cut-off set to reach the matcher's recall.

    python benchmarks/party_eval.py [--positives 600] [--negatives 2000] [--seed 7]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from anyascii import anyascii
from rapidfuzz import fuzz, process

from precursorwatch.screen.watchlist import (
    PartyMatcher,
    WatchlistEntry,
    load_ofac_sdn,
    load_un_consolidated,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
THRESHOLD = 0.80

_LEGAL = [("CO., LTD.", "Company Limited"), ("CO., LTD", "Co Ltd"), ("S.A. DE C.V.", "SA de CV"),
          ("LIMITED", "Ltd."), ("LLC", "L.L.C."), ("S.A.", "SA"), ("INC.", "Incorporated")]
_GENERIC = {"INDUSTRY": "INDUSRY", "GROUP": "GRUP", "INTERNATIONAL": "INTERNAICONAL",
            "COMMERCIAL": "COGMERCIAL", "TRADING": "TRADNG", "COMPANY": "COMAPNY",
            "CHEMICAL": "CHEMCIAL", "PHARMACEUTICAL": "PHARMACUETICAL", "IMPORT": "INPORT",
            "EXPORT": "EXPROT", "INTERNACIONAL": "INTERNASIONAL", "TECHNOLOGY": "TECHNOLGY"}
_ROMANISATION = [("KIM", "GIM"), ("JONG", "JEONG"), ("PAK", "BAK"), ("CHOE", "CHOI"),
                 ("RI ", "LEE "), ("UN", "EUN"), ("CHOL", "CHEOL"), ("SONG", "SEONG"),
                 ("XI", "HSI"), ("ZH", "J"), ("Q", "CH"), ("X", "HS")]
_CYRILLIC = {"shch": "щ", "zh": "ж", "kh": "х", "ts": "ц", "ch": "ч", "sh": "ш", "yu": "ю",
             "ya": "я", "j": "дж", "a": "а", "b": "б", "v": "в", "g": "г", "d": "д", "e": "е",
             "z": "з", "i": "и", "y": "й", "k": "к", "l": "л", "m": "м", "n": "н", "o": "о",
             "p": "п", "r": "р", "s": "с", "t": "т", "u": "у", "f": "ф", "h": "х", "c": "к",
             "w": "в", "x": "кс", "q": "к"}


def _words(name: str) -> list[str]:
    return name.split()


def _long_word(rng: random.Random, name: str) -> int | None:
    idx = [i for i, w in enumerate(_words(name)) if len(re.sub(r"\W", "", w)) >= 5]
    return rng.choice(idx) if idx else None


def _edit(rng: random.Random, word: str, kind: str) -> str:
    i = rng.randrange(1, len(word) - 1)
    letters = "ABCDEFGHIJKLMNOPRSTUVWY"
    if kind == "sub":
        return word[:i] + rng.choice([c for c in letters if c != word[i]]) + word[i + 1:]
    if kind == "del":
        return word[:i] + word[i + 1:]
    if kind == "ins":
        return word[:i] + rng.choice(letters) + word[i:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]  # transposition


def _variant_typo(rng: random.Random, name: str, kind: str) -> str | None:
    i = _long_word(rng, name)
    if i is None:
        return None
    words = _words(name)
    words[i] = _edit(rng, words[i], kind)
    return " ".join(words)


def _variant_first_letter(rng: random.Random, name: str) -> str | None:
    i = _long_word(rng, name)
    if i is None:
        return None
    words = _words(name)
    words[i] = words[i][1:]
    return " ".join(words)


def _variant_generic(rng: random.Random, name: str) -> str | None:
    for good, bad in _GENERIC.items():
        if re.search(rf"\b{good}\b", name):
            return re.sub(rf"\b{good}\b", bad, name, count=1)
    return None


def _variant_legal(rng: random.Random, name: str) -> str | None:
    for a, b in _LEGAL:
        if a in name:
            return name.replace(a, b).title()
    return None


def _variant_order(rng: random.Random, name: str) -> str | None:
    words = [w.strip(",") for w in _words(name)]
    if len(words) < 2:
        return None
    rng.shuffle(words)
    return " ".join(words).lower()


def _variant_romanisation(rng: random.Random, name: str) -> str | None:
    for a, b in rng.sample(_ROMANISATION, len(_ROMANISATION)):
        if a in name.upper():
            return name.upper().replace(a, b, 1)
    return None


def _variant_cyrillic(rng: random.Random, name: str) -> str | None:
    text = name.lower()
    if not re.fullmatch(r"[a-z ,.'-]+", text):
        return None
    out, i = [], 0
    keys = sorted(_CYRILLIC, key=len, reverse=True)
    while i < len(text):
        for k in keys:
            if text.startswith(k, i):
                out.append(_CYRILLIC[k])
                i += len(k)
                break
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _variant_middle(rng: random.Random, name: str) -> str | None:
    words = _words(name)
    if len(words) < 3:
        return None
    del words[rng.randrange(1, len(words) - 1)]
    return " ".join(words)


VARIANTS: dict[str, Callable[[random.Random, str], str | None]] = {
    "typo (substitution)": lambda r, n: _variant_typo(r, n, "sub"),
    "typo (deletion)": lambda r, n: _variant_typo(r, n, "del"),
    "typo (insertion)": lambda r, n: _variant_typo(r, n, "ins"),
    "transposed letters": lambda r, n: _variant_typo(r, n, "swap"),
    "first letter lost": _variant_first_letter,
    "misspelt trade word": _variant_generic,
    "legal form rewritten": _variant_legal,
    "words reordered": _variant_order,
    "romanisation": _variant_romanisation,
    "Cyrillic script": _variant_cyrillic,
    "middle name dropped": _variant_middle,
}

_PINYIN = ["wei", "jiao", "liao", "kun", "yu", "you", "quan", "hong", "ming", "jian", "hua",
           "li", "zhang", "wang", "chen", "zhao", "sun", "zhou", "wu", "xu", "hu", "guo", "he",
           "gao", "lin", "luo", "zheng", "liang", "xie", "song", "tang", "han", "feng", "deng",
           "cao", "peng", "zeng", "xiao", "tian", "dong", "pan", "yuan", "cai", "jiang", "du",
           "ye", "cheng", "su", "lu", "ding", "ren", "shen", "yao", "qian", "tianyi", "xin",
           "sheng", "kai", "rui", "bo", "hao", "long", "feng", "jia", "an", "fu", "tai"]
_GIVEN = ["Maria", "Jose", "Juan", "Luis", "Carlos", "Ana", "Miguel", "Jorge", "Rosa", "Pedro",
          "John", "Michael", "David", "James", "Robert", "Sarah", "Linda", "Ahmed", "Ali",
          "Omar", "Ivan", "Sergei", "Olga", "Martin", "Peter", "Laura", "Diego", "Elena"]
_SURNAME = ["Garcia", "Hernandez", "Lopez", "Martinez", "Gonzalez", "Rodriguez", "Perez",
            "Sanchez", "Ramirez", "Torres", "Flores", "Rivera", "Gomez", "Diaz", "Cruz", "Reyes",
            "Morales", "Ortiz", "Smith", "Johnson", "Brown", "Miller", "Wilson", "Taylor",
            "Ivanov", "Petrov", "Khan", "Hassan", "Martin", "Castro", "Vargas", "Mendoza"]
_TRADE = ["Pharmaceuticals Inc.", "Chemical Co., Ltd.", "Technology Co., Ltd.",
          "Trading S.A. de C.V.", "Industrial Group", "Logistics LLC", "Import Export Co.",
          "Biotech Ltd.", "Materials Co., Ltd.", "Distribuidora S.A. de C.V.", "Labs Inc."]
_CITY = ["Wuhan", "Shanghai", "Hebei", "Guangzhou", "Jalisco", "Sinaloa", "Houston", "Mumbai",
         "Dalian", "Tianjin", "Monterrey", "Tijuana"]


# The generator's own notion of a generic word, so that the negatives do not move when the
# matcher's normalisation does.
_GENERIC_WORDS = frozenset({
    "co", "company", "companies", "corp", "corporation", "inc", "incorporated", "ltd",
    "limited", "llc", "plc", "pte", "pvt", "private", "sa", "de", "cv", "srl", "gmbh", "ag",
    "jsc", "ooo", "the", "and", "of", "group", "holding", "holdings", "enterprise",
    "enterprises", "trading", "trade", "import", "export", "industrial", "industries",
    "industry", "international", "internacional", "technology", "technologies", "tech",
    "science", "chemical", "chemicals", "pharmaceutical", "pharmaceuticals", "biotech",
    "materials", "material", "new", "products", "development", "supply", "services",
    "logistics", "manufacturing", "factory", "lab", "labs", "laboratory", "servicios",
    "comercial", "commercial", "general", "shipping", "distribuidora", "hong", "kong", "china",
})


def _plain_tokens(name: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", anyascii(name).lower())


def negatives(rng: random.Random, count: int, entries: list[WatchlistEntry]) -> list[str]:
    """Ordinary names, some sharing a word with a listed name, none equal to one."""
    listed = {" ".join(sorted(_plain_tokens(n))) for e in entries for n in (e.name, *e.aliases)}
    distinct = [w for e in entries if e.kind == "entity" for w in _plain_tokens(e.name)
                if len(w) >= 4 and w not in _GENERIC_WORDS and not w.isdigit()]
    out: list[str] = []
    makers: list[Callable[[], str]] = [
        lambda: f"{rng.choice(_PINYIN).title()} {rng.choice(_PINYIN).title()}",
        lambda: f"{rng.choice(_PINYIN).upper()} {rng.choice(_PINYIN).title()}"
                f"{rng.choice(_PINYIN)}",
        lambda: f"{rng.choice(_GIVEN)} {rng.choice(_SURNAME)} {rng.choice(_SURNAME)}",
        lambda: f"{rng.choice(_CITY)} {rng.choice(_PINYIN).title()}{rng.choice(_PINYIN)} "
                f"{rng.choice(_TRADE)}",
        lambda: f"{rng.choice(_SURNAME)} {rng.choice(_TRADE)}",
        # A listed name's distinctive word inside a longer ordinary name.
        lambda: f"{rng.choice(distinct).title()} {rng.choice(_PINYIN).title()}"
                f"{rng.choice(_PINYIN)} {rng.choice(_TRADE)}",
        lambda: f"{rng.choice(_CITY)} {rng.choice(distinct).title()} "
                f"{rng.choice(_SURNAME)} {rng.choice(_TRADE)}",
    ]
    while len(out) < count:
        name = rng.choice(makers)()
        if " ".join(sorted(_plain_tokens(name))) not in listed and name not in out:
            out.append(name)
    return out


def positives(rng: random.Random, count: int, entries: list[WatchlistEntry]
              ) -> list[tuple[str, str, str]]:
    """(variant, entry id, variant kind), the kinds taken in turn."""
    parties = [e for e in entries if e.kind in ("individual", "entity")]
    people = [e for e in parties if e.kind == "individual"]
    kinds = list(VARIANTS)
    out: list[tuple[str, str, str]] = []
    attempts = 0
    while len(out) < count and attempts < count * 50:
        attempts += 1
        kind = kinds[len(out) % len(kinds)]
        # Only people have middle names: a company name less a word is another name.
        e = rng.choice(people if kind == "middle name dropped" else parties)
        made = VARIANTS[kind](rng, e.name)
        if made and made.strip() and made != e.name:
            out.append((made, f"{e.list}:{e.entry_id}", kind))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--positives", type=int, default=600)
    ap.add_argument("--negatives", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--show", type=int, default=15, help="misses and false alarms to print")
    args = ap.parse_args()
    if not (DATA / "ofac-sdn-2021" / "sdn.csv").exists():
        sys.exit(f"the lists are not at {DATA}")
    entries = (load_ofac_sdn(DATA / "ofac-sdn-2021" / "sdn.csv")
               + load_un_consolidated(DATA / "un-consolidated" / "UN_consolidated.xml"))
    rng = random.Random(args.seed)
    pos = positives(rng, args.positives, entries)
    neg = negatives(rng, args.negatives, entries)
    names = [n for n, _, _ in pos] + neg

    t0 = time.perf_counter()
    matcher = PartyMatcher(entries)
    built = time.perf_counter() - t0
    matcher.match_many([("warm up", "")], THRESHOLD)
    t0 = time.perf_counter()
    hits = matcher.match_many([(n, "") for n in names], THRESHOLD)
    seconds = time.perf_counter() - t0

    by_kind: dict[str, list[bool]] = {}
    misses = []
    for (name, truth, kind), found in zip(pos, hits[:len(pos)], strict=True):
        ok = any(f"{h.entry.list}:{h.entry.entry_id}" == truth for h in found)
        by_kind.setdefault(kind, []).append(ok)
        if not ok:
            misses.append((kind, name, truth, [(h.entry.name, h.score) for h in found[:1]]))
    false_alarms = [(n, found[0].entry.name, found[0].score)
                    for n, found in zip(neg, hits[len(pos):], strict=True) if found]
    recall = sum(sum(v) for v in by_kind.values()) / len(pos)

    # Baseline: the best token_sort_ratio match over every listed name and alias.
    listed = [(n, f"{e.list}:{e.entry_id}") for e in entries if e.kind in ("individual", "entity")
              for n in dict.fromkeys((e.name, *e.aliases))]
    choices = [n.lower() for n, _ in listed]
    t0 = time.perf_counter()
    base = [process.extractOne(n.lower(), choices, scorer=fuzz.token_sort_ratio)
            for n in names]
    base_seconds = time.perf_counter() - t0
    pos_scores = sorted((b[1] if b and listed[b[2]][1] == truth else 0.0)
                        for b, (_, truth, _) in zip(base, pos, strict=False))
    # The cut-off that gives the baseline the matcher's recall (or its best, if lower).
    found = [s for s in pos_scores if s > 0]
    need = min(len(found), round(recall * len(pos)))
    cut = sorted(found, reverse=True)[need - 1] if need else 100.0
    base_recall = sum(s >= cut for s in found) / len(pos)
    base_fp = sum(1 for b in base[len(pos):] if b and b[1] >= cut)

    print(f"lists: {len(entries):,} entries, {len(matcher._names):,} names and aliases; "
          f"matcher built in {built:.1f} s")
    print(f"positives {len(pos)}, negatives {len(neg)}, threshold {THRESHOLD}")
    print(f"matcher: recall {recall:.3f}, false alarms {len(false_alarms)} "
          f"({len(false_alarms) / len(neg):.2%}), {len(names) / seconds:,.0f} names/s")
    print(f"baseline token_sort_ratio at cut-off {cut:.0f}: recall {base_recall:.3f}, "
          f"false alarms {base_fp} ({base_fp / len(neg):.2%}), "
          f"{len(names) / base_seconds:,.0f} names/s")
    for kind, oks in by_kind.items():
        print(f"  {kind:22} {sum(oks)}/{len(oks)}")
    for kind, name, truth, best in misses[:args.show]:
        print(f"  missed ({kind}): {name!r} for {truth}; best {best}")
    for name, entry, score in false_alarms[:args.show]:
        print(f"  false alarm: {name!r} -> {entry!r} {score:.2f}")


if __name__ == "__main__":
    main()
