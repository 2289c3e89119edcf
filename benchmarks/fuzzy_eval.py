"""How far typo matching can be trusted, measured on real chemical names.

The vocabulary is the PubChem-derived table of the `chemicals` package (every name of about
71,000 compounds) plus the bundled listed substances and everyday chemicals; a substance is the
first block of its InChIKey (connectivity), so stereoisomers and synonyms are one substance.

1. Typos: single-edit typos (substitution, deletion, insertion, transposition of a letter or
   digit) of sampled names, made by a generator that knows nothing of the matcher (fixed seed).
   A typo that spells another known name is counted apart (no matcher can tell). Precision: of
   the corrections made, how many land on the substance the name belonged to; recall: of all
   typos, how many are corrected to the right substance. Typos of listed names are reported
   apart, as are typos that land on a listed substance they did not come from.
2. Real names that are not listed, as they are (whole vocabulary: they hit exactly, so the
   matcher must refuse), and with their own substance left out of the vocabulary (as if it
   lacked them: the matcher must still not turn them into a listed substance). The second is
   exhaustive: only names within reach (edit distance) of a listed name can land on one, and
   every such name is tried.

Usage: python benchmarks/fuzzy_eval.py [TYPOS] [--margin N] [--two-edits-from 12,16]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import platform
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from rapidfuzz import process
from rapidfuzz.distance import OSA

from precursorwatch.chem import names
from precursorwatch.chem.names import FUZZY_MARGIN, TWO_EDITS_FROM, FuzzyMatcher, name_key
from precursorwatch.chem.structure import StructureError, from_smiles
from precursorwatch.controls.load import load_controls
from precursorwatch.detect.check import common_chemicals, control_entries

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_CAS = re.compile(r"^\d{2,7}-\d{2}-\d$")
_DIGITS = re.compile(r"\d+")


def table_path() -> Path:
    import chemicals

    return Path(os.path.dirname(chemicals.__file__)) / "Identifiers" / (
        "chemical identifiers pubchem large.tsv")


def read_pubchem(path: Path) -> Iterator[tuple[str, str]]:
    """(name, connectivity key) for every name of every compound; CAS-like synonyms skipped.
    Columns: pubchem id, CAS, formula, MW, SMILES, InChI, InChIKey, IUPAC name, common name,
    synonyms..."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 9 or not cols[6]:
                continue
            block = cols[6].split("-")[0]
            for nm in cols[7:]:
                if nm and not _CAS.match(nm):
                    yield nm, block


def typo(key: str, rng: random.Random) -> tuple[str, str]:
    """One random edit of `key`, and which kind."""
    kind = rng.choice(("substitution", "deletion", "insertion", "transposition"))
    i = rng.randrange(len(key))
    if kind == "substitution":
        return key[:i] + rng.choice(ALPHABET.replace(key[i], "")) + key[i + 1:], kind
    if kind == "deletion":
        return key[:i] + key[i + 1:], kind
    if kind == "insertion":
        return key[:i] + rng.choice(ALPHABET) + key[i:], kind
    if len(key) < 2 or i == len(key) - 1 or key[i] == key[i + 1]:
        return typo(key, rng)
    return key[:i] + key[i + 1] + key[i] + key[i + 2:], kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("typos", nargs="?", type=int, default=1500,
                        help="typos of general names (a third as many double typos; listed "
                             "names: 3 typos and 1 double typo per name)")
    parser.add_argument("--margin", type=lambda v: [int(x) for x in v.split(",")],
                        default=[FUZZY_MARGIN], help="edits; a comma list compares several")
    parser.add_argument("--two-edits-from", type=lambda v: [int(x) for x in v.split(",")],
                        default=[TWO_EDITS_FROM],
                        help="key length from which two edits are undone; a comma list "
                             "compares several")
    parser.add_argument("--seed", type=int, default=20261130)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    t0 = time.perf_counter()
    pairs: list[tuple[str, str]] = []
    for nm, block in read_pubchem(table_path()):
        key = name_key(nm)
        if key:
            pairs.append((key, block))
    listed_keys: set[str] = set()
    listed_blocks: set[str] = set()
    controls = load_controls()
    for entry in [*control_entries(controls), *common_chemicals()]:
        try:
            block = from_smiles(entry.smiles).inchikey.split("-")[0]
        except StructureError:
            continue
        for nm in entry.all_names():
            key = name_key(nm)
            if key:
                pairs.append((key, block))
                if entry.context == "precursor":
                    listed_keys.add(key)
                    listed_blocks.add(block)
    matcher = FuzzyMatcher(pairs)
    build_s = time.perf_counter() - t0
    keys = sorted({k for k, _ in pairs})
    by_key: dict[str, set[str]] = {}
    for k, b in pairs:
        by_key.setdefault(k, set()).add(b)
    print(f"vocabulary: {len(keys):,} keys, {len({b for _, b in pairs}):,} substances, "
          f"{len(listed_keys)} listed keys; matcher built in {build_s:.1f} s")

    def is_listed(blocks: frozenset[str] | set[str]) -> bool:
        return bool(blocks & listed_blocks)

    # -- 1. typos ----------------------------------------------------------------------------
    long_keys = [k for k in keys if len(k) >= names.MIN_FUZZY_LENGTH]
    general = [k for k in long_keys if not is_listed(by_key[k])]
    listed_long = sorted(k for k in listed_keys if len(k) >= names.MIN_FUZZY_LENGTH)
    # (key, group, edits): one edit of general and listed names; two edits of long names.
    plan = [(k, "typos of general names", 1) for k in rng.sample(general, args.typos)]
    plan += [(k, "typos of listed names", 1) for k in listed_long for _ in range(3)]
    longer = [k for k in general if len(k) >= 12]
    plan += [(k, "two typos in general names of 12+ characters", 2)
             for k in rng.sample(longer, args.typos // 3)]
    plan += [(k, "two typos in listed names of 12+ characters", 2)
             for k in listed_long if len(k) >= 12]
    cases: list[tuple[str, str, str, str]] = []  # key, group, kind, typo
    for key, group, edits in plan:
        bad, kind = typo(key, rng)
        if edits == 2:
            bad, _ = typo(bad, rng)
            kind = "two edits"
        cases.append((key, group, kind, bad))

    real = [k for k in long_keys if not is_listed(by_key[k])]
    refused_whole = sum(1 for k in real if matcher.match_key(k) is None)
    print(f"real names not listed, whole vocabulary: {len(real):,}; "
          f"{len(real) - refused_whole} corrected to anything (must be 0)")
    # Leave-one-out: only names within reach of a listed key can land on one, so trying those
    # is trying them all.
    reach = 2 + max(args.margin)
    real_by_length: dict[int, list[str]] = {}
    for k in real:
        real_by_length.setdefault(len(k), []).append(k)
    at_risk: set[str] = set()
    for lk in listed_keys:
        for length in range(len(lk) - reach, len(lk) + reach + 1):
            for cand, _, _ in process.extract(lk, real_by_length.get(length, []),
                                              scorer=OSA.distance, score_cutoff=reach,
                                              limit=None):
                at_risk.add(cand)

    for setting, margin in itertools.product(args.two_edits_from, args.margin):
        matcher.two_edits_from, matcher.margin = setting, margin
        print(f"\n== two edits from key length {setting}, margin {margin} ==")
        score_typos(matcher, cases, by_key, is_listed)
        loo_listed: list[tuple[str, str, int, int]] = []
        loo_other = 0
        for k in sorted(at_risk):
            found = matcher.match_key(k, exclude=by_key[k])
            if found is None:
                continue
            if is_listed(found.substances):
                loo_listed.append((k, found.key, found.distance, found.margin))
            else:
                loo_other += 1
        print(f"real names not listed, own substance left out: {len(at_risk):,} within "
              f"{reach} edits of a listed name tried; {len(loo_listed)} turned into a listed "
              f"substance, {loo_other} into another unlisted one")
        for ex in loo_listed[:40]:
            print("    ", ex)
    print(f"\n{dt.date.today()} {platform.machine()} {os.cpu_count()} cores, "
          f"normaliser {names.NORMALISER_VERSION}, total {time.perf_counter() - t0:.0f} s")


def score_typos(matcher: FuzzyMatcher, cases: list[tuple[str, str, str, str]],
                by_key: dict[str, set[str]], is_listed: Callable[[set[str]], bool]) -> None:
    tally: Counter[tuple[str, str]] = Counter()
    by_kind: Counter[tuple[str, str]] = Counter()
    false_listed: list[tuple[str, str, str]] = []
    wrong_examples: list[tuple[str, str, str]] = []
    t1 = time.perf_counter()
    for key, group, kind, bad in cases:
        truth = by_key[key]
        if bad in by_key:
            tally[group, "spells another known name"] += 1
            continue
        found = matcher.match_key(bad)
        if found is None:
            outcome = "refused"
        elif found.substances & truth:
            outcome = "corrected"
        else:
            outcome = "wrong substance"
            if len(wrong_examples) < 8:
                wrong_examples.append((key, bad, found.key))
            if not is_listed(truth) and is_listed(set(found.substances)):
                false_listed.append((key, bad, found.key))
        tally[group, outcome] += 1
        by_kind[kind, outcome] += 1
        # Locants are never corrected, by rule: typos that touch a digit are counted apart.
        if _DIGITS.findall(bad) != _DIGITS.findall(key):
            by_kind["touches a digit", outcome] += 1
        else:
            by_kind["leaves digits alone", outcome] += 1
    typo_s = time.perf_counter() - t1
    for label in dict.fromkeys(g for _, g, _, _ in cases):
        c = {o: n for (grp, o), n in tally.items() if grp == label}
        made = c.get("corrected", 0) + c.get("wrong substance", 0)
        tried = made + c.get("refused", 0)
        print(f"{label}: {sum(c.values()):,} "
              f"({c.get('spells another known name', 0)} spell another known name, not scored)")
        print(f"  corrected {c.get('corrected', 0):,}  wrong substance "
              f"{c.get('wrong substance', 0):,}  refused {c.get('refused', 0):,}", end="")
        if made:
            print(f"  precision {c.get('corrected', 0) / made:.4f}  "
                  f"recall {c.get('corrected', 0) / tried:.4f}", end="")
        print()
    for kind in ("substitution", "deletion", "insertion", "transposition", "two edits",
                 "touches a digit", "leaves digits alone"):
        c = {o: n for (k, o), n in by_kind.items() if k == kind}
        tried = sum(c.values())
        print(f"  {kind:19s}: recall {c.get('corrected', 0) / max(tried, 1):.3f} "
              f"({c.get('wrong substance', 0)} wrong of {tried})")
    print(f"  typos of unlisted names that landed on a listed substance: {len(false_listed)}",
          false_listed[:10])
    print("  examples of wrong substance:", wrong_examples)
    print(f"  {len(cases):,} typos in {typo_s:.1f} s "
          f"({1000 * typo_s / max(len(cases), 1):.1f} ms each)")


if __name__ == "__main__":
    main()
