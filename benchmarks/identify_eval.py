"""How well identifiers are turned into the right structure, measured against an independent truth.

The truth is the PubChem-derived identifier table of the `chemicals` package (about 76,000
compounds): each row pairs a CAS number and names (common name, IUPAC name, synonyms) with
PubChem's InChIKey, none of it computed by this project. Every figure compares what `check`
makes of an identifier with the row it came from:

1. CAS numbers: a fixed-seed sample of rows' own CAS numbers. Resolved share; wrong structure
   (the InChIKey connectivity block differs from the table's; only one-component rows, where
   the table's key and the standardised parent's key are comparable); false alarms.
2. Names: a fixed-seed sample of one name per row (any of common name, IUPAC name, synonyms;
   a name is right if it resolves to any row that carries it). Same figures, and the same
   names through OPSIN alone (no vocabulary) for OPSIN's own wrong-structure share.
3. Listed substances under all their real spellings: every name and CAS number of every row
   whose compound is a listed substance (its connectivity block is that of a substance with a
   control listing in force; watch-list-only substances are expected to say `watch`) or a
   salt of one (a multi-component row whose parent is). Share `controlled`; misses listed.
4. Typos and salts: single-letter typos of sampled names of unlisted compounds, and sampled
   multi-component rows (salts, mixtures) of unlisted compounds by CAS number and name: none
   may come out controlled/designer.

A false alarm is a `controlled` or `designer` verdict on a row that is not a listed substance or
salt of one; each is printed with its input and reason for review (a member of a listed class
or a true one-step precursor is a right answer the table cannot know). Crashes are exceptions
and "internal error" verdicts; there must be none.

    .venv/bin/python benchmarks/identify_eval.py [--cas 3000] [--names 3000] [--typos 1000]
        [--salts 1500] [--seed 20261130] [--no-opsin]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import resource
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from precursorwatch.chem.cas import looks_like_cas
from precursorwatch.chem.names import name_key
from precursorwatch.chem.opsin import OpsinUnavailable, names_to_smiles
from precursorwatch.chem.structure import StructureError, from_smiles
from precursorwatch.chem.vocabulary import default_sources, read_table
from precursorwatch.controls.load import load_controls
from precursorwatch.detect.check import Checker
from precursorwatch.detect.verdict import Verdict

ON = dt.date(2026, 11, 30)
ALARMS = {"controlled", "designer"}


@dataclass(frozen=True, slots=True)
class Row:
    cas: str | None
    extra_cas: tuple[str, ...]
    smiles: str
    skeleton: str  # the table's InChIKey first block
    inchikey: str
    names: tuple[str, ...]

    @property
    def single(self) -> bool:
        return "." not in self.smiles


def load_rows() -> list[Row]:
    rows: list[Row] = []
    seen: set[str] = set()
    for source in default_sources():
        for r in read_table(source):
            if r.inchikey in seen:
                continue
            seen.add(r.inchikey)
            rows.append(Row(r.cas, r.extra_cas, r.smiles, r.inchikey.split("-")[0], r.inchikey,
                            r.names))
    return rows


def parent_skeleton(row: Row) -> str | None:
    """The connectivity block of the row's parent (salts: the largest organic part)."""
    if row.single:
        return row.skeleton
    try:
        return from_smiles(row.smiles).skeleton_key
    except StructureError:
        return None


def check_all(checker: Checker, items: Sequence[str]) -> tuple[list[Verdict | None], int]:
    """Verdicts in order (None where the batch raised) and the number of crashes."""
    out: list[Verdict | None] = []
    crashes = 0
    for i in range(0, len(items), 500):
        chunk = list(items[i:i + 500])
        try:
            verdicts: list[Verdict | None] = list(checker.check_batch(chunk, as_of=ON))
        except Exception as exc:  # a crash is what is being counted
            print(f"  CRASH on a batch: {type(exc).__name__}: {exc}")
            crashes += len(chunk)
            verdicts = [None] * len(chunk)
        for v in verdicts:
            if v is not None and (v.reason or "").startswith("internal error"):
                crashes += 1
                print(f"  CRASH: {v.input!r}: {v.reason}")
        out.extend(verdicts)
    return out, crashes


def describe(v: Verdict) -> str:
    m = v.matches[0] if v.matches else None
    why = f"{m.basis}: {m.explanation}" if m else ""
    return (f"{v.input!r} -> {v.verdict} as {v.name!r} ({v.smiles}) by {v.resolved_by}; "
            f"{why[:160]}")


def pct(n: int, d: int) -> str:
    return f"{n:,}/{d:,} = {100 * n / d:.2f}%" if d else "n/a"


@dataclass
class Tally:
    total: int = 0
    resolved: int = 0
    compared: int = 0
    wrong: int = 0
    wrong_full: int = 0
    false_alarms: int = 0


def score(label: str, verdicts: Sequence[Verdict | None], truths: Sequence[set[str]],
          single: Sequence[bool], listed: Sequence[bool], show: int) -> Tally:
    """`truths`: acceptable connectivity blocks per input (with the full keys as
    'BLOCK-REST' entries for the stereo-aware figure)."""
    t = Tally(total=len(verdicts))
    wrong_examples: list[str] = []
    alarms: list[str] = []
    for v, truth, one, is_listed in zip(verdicts, truths, single, listed, strict=True):
        if v is None or v.inchikey is None:
            continue
        t.resolved += 1
        if one:
            t.compared += 1
            if v.inchikey.split("-")[0] not in truth:
                t.wrong += 1
                wrong_examples.append(f"{v.input!r} -> {v.name!r} {v.smiles} "
                                      f"(by {v.resolved_by})")
            elif v.inchikey not in truth:
                t.wrong_full += 1
        if v.verdict in ALARMS and not is_listed:
            t.false_alarms += 1
            alarms.append(describe(v))
    print(f"{label}: resolved {pct(t.resolved, t.total)}; wrong structure (connectivity) "
          f"{pct(t.wrong, t.compared)} of the comparable resolved; same connectivity, other "
          f"stereo/isotope/charge {pct(t.wrong_full, t.compared)}; "
          f"false controlled/designer {t.false_alarms}")
    for line in wrong_examples[:show]:
        print(f"    wrong: {line}")
    for line in alarms:
        print(f"    FALSE ALARM (review): {line}")
    return t


def truth_sets(rows_by_key: dict[str, list[Row]], key: str) -> set[str]:
    out: set[str] = set()
    for r in rows_by_key.get(key, ()):
        out.add(r.skeleton)
        out.add(r.inchikey)
    return out


def typo(word: str, rng: random.Random) -> str:
    """One edit on a letter: substitution, deletion, insertion or transposition."""
    letters = [i for i, c in enumerate(word) if c.isalpha()]
    if len(letters) < 2:
        return word
    i = rng.choice(letters)
    kind = rng.randrange(4)
    abc = "abcdefghijklmnopqrstuvwxyz"
    if kind == 0:
        return word[:i] + rng.choice(abc.replace(word[i].lower(), "")) + word[i + 1:]
    if kind == 1:
        return word[:i] + word[i + 1:]
    if kind == 2:
        return word[:i] + rng.choice(abc) + word[i:]
    j = i + 1 if i + 1 < len(word) else i - 1
    a, b = sorted((i, j))
    return word[:a] + word[b] + word[a] + word[b + 1:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cas", type=int, default=3000, help="CAS numbers sampled (default 3000)")
    ap.add_argument("--names", type=int, default=3000, help="names sampled (default 3000)")
    ap.add_argument("--typos", type=int, default=1000, help="typos made (default 1000)")
    ap.add_argument("--salts", type=int, default=1500,
                    help="multi-component rows of unlisted compounds sampled (default 1500)")
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--no-opsin", action="store_true", help="skip OPSIN entirely")
    ap.add_argument("--show", type=int, default=15, help="wrong structures printed per part")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    t_start = time.perf_counter()

    print(f"machine: {platform.machine()} {platform.system()}, "
          f"{len(__import__('os').sched_getaffinity(0))} cores; {dt.datetime.now(dt.UTC):%Y-%m-%d}")
    rows = load_rows()
    controls = load_controls()
    # "Listed": a substance with a control listing in force (watch lists call for `watch`).
    listed_skeletons = {
        from_smiles(s.smiles).skeleton_key for s in controls.substances
        if any(x.effect == "control" and x.in_force(ON) for x in controls.listings_for(s.id))
    }
    parents = {id(r): parent_skeleton(r) for r in rows}
    is_listed = {id(r): parents[id(r)] in listed_skeletons for r in rows}
    by_name: dict[str, list[Row]] = {}
    by_cas: dict[str, list[Row]] = {}
    for r in rows:
        for n in r.names:
            by_name.setdefault(name_key(n), []).append(r)
        for c in (r.cas, *r.extra_cas):
            if c:
                by_cas.setdefault(c, []).append(r)
    print(f"table rows: {len(rows):,}; rows of listed substances or their salts: "
          f"{sum(is_listed.values()):,}")
    checker = Checker(controls, use_opsin=not args.no_opsin)
    crashes = 0

    # 1. CAS numbers ------------------------------------------------------------------------
    with_cas = [r for r in rows if r.cas]
    sample = rng.sample(with_cas, min(args.cas, len(with_cas)))
    t0 = time.perf_counter()
    verdicts, c = check_all(checker, [r.cas or "" for r in sample])
    crashes += c
    dt_cas = time.perf_counter() - t0
    score("CAS numbers", verdicts, [{r.skeleton, r.inchikey} for r in sample],
          [r.single for r in sample], [is_listed[id(r)] for r in sample], args.show)
    print(f"    ({len(sample) / dt_cas:,.0f} CAS numbers/s, cold)")

    # 2. Names --------------------------------------------------------------------------------
    named = [r for r in rows if r.names]
    picks = rng.sample(named, min(args.names, len(named)))
    names = [rng.choice(r.names) for r in picks]
    t0 = time.perf_counter()
    verdicts, c = check_all(checker, names)
    crashes += c
    dt_names = time.perf_counter() - t0
    truths = [truth_sets(by_name, name_key(n)) for n in names]
    comparable = [r.single and all(x.single for x in by_name.get(name_key(n), ()))
                  for r, n in zip(picks, names, strict=True)]
    listed_flags = [any(is_listed[id(x)] for x in by_name.get(name_key(n), ()))
                    for n in names]
    score("names", verdicts, truths, comparable, listed_flags, args.show)
    print(f"    ({len(names) / dt_names:,.0f} names/s, cold, OPSIN for the names the "
          "vocabulary lacks)")
    by_how = Counter(v.resolved_by for v in verdicts if v is not None)
    print(f"    resolved by: {dict(by_how.most_common())}")

    if not args.no_opsin:
        try:
            smiles = names_to_smiles(names)
        except OpsinUnavailable as exc:
            print(f"OPSIN alone: not run ({exc})")
        else:
            parsed = compared = wrong = 0
            examples: list[str] = []
            for n, smi, truth, one in zip(names, smiles, truths, comparable, strict=True):
                if not smi:
                    continue
                try:
                    st = from_smiles(smi)
                except StructureError:
                    continue
                parsed += 1
                if one:
                    compared += 1
                    if st.skeleton_key not in truth:
                        wrong += 1
                        examples.append(f"{n!r} -> {st.smiles}")
            print(f"OPSIN alone on the same names: parsed {pct(parsed, len(names))}; wrong "
                  f"structure {pct(wrong, compared)} of the comparable parsed")
            for line in examples[:args.show]:
                print(f"    OPSIN wrong: {line}")

    # 3. Listed substances under every real spelling ----------------------------------------
    spellings: list[str] = []
    for r in rows:
        if is_listed[id(r)]:
            spellings += [*r.names, *(c for c in (r.cas, *r.extra_cas) if c)]
    spellings = list(dict.fromkeys(spellings))
    t0 = time.perf_counter()
    verdicts, c = check_all(checker, spellings)
    crashes += c
    ok = [v for v in verdicts if v is not None and v.verdict == "controlled"]
    print(f"listed substances and their salts under the table's {len(spellings):,} spellings "
          f"(names, IUPAC names, CAS numbers): controlled {pct(len(ok), len(spellings))} "
          f"({time.perf_counter() - t0:.1f} s)")
    misses = [v for v in verdicts if v is not None and v.verdict != "controlled"]
    for v in misses:
        # A spelling the table gives to an unlisted compound too is ambiguous by itself.
        key = name_key(v.input)
        shared = [x for x in (by_cas.get(v.input.strip()) or by_name.get(key, ()))
                  if not is_listed[id(x)]]
        tag = " (the table gives this spelling to an unlisted compound too)" if shared else ""
        print(f"    missed: {v.input!r} -> {v.verdict} {v.name!r} {v.reason or ''}{tag}")

    # 4. Typos and salts of unlisted compounds ------------------------------------------------
    unlisted_names = [(r, n) for r in rows if not is_listed[id(r)] for n in r.names[:1]
                      if len(n) >= 8 and not looks_like_cas(n)]
    typos: list[str] = []
    for _row, n in rng.sample(unlisted_names, min(args.typos, len(unlisted_names))):
        t = typo(n, rng)
        # A typo that spells a known name of a listed compound is that compound's name.
        if any(is_listed[id(x)] for x in by_name.get(name_key(t), ())):
            continue
        typos.append(t)
    verdicts, c = check_all(checker, typos)
    crashes += c
    alarms = [v for v in verdicts if v is not None and v.verdict in ALARMS]
    fuzzy = [v for v in verdicts if v is not None and v.resolved_by == "fuzzy"]
    print(f"typos of unlisted names: {len(typos):,}; read as a known name by fuzzy matching "
          f"{len(fuzzy):,}; false controlled/designer {len(alarms)}")
    for v in alarms:
        print(f"    FALSE ALARM (typo, review): {describe(v)}")
    salts = [r for r in rows if not r.single and not is_listed[id(r)]]
    salts = rng.sample(salts, min(args.salts, len(salts)))
    salt_ids = list(dict.fromkeys(x for r in salts for x in (r.cas, r.names[0] if r.names else None)
                                  if x))
    verdicts, c = check_all(checker, salt_ids)
    crashes += c
    alarms = [v for v in verdicts if v is not None and v.verdict in ALARMS]
    print(f"salts and other multi-component rows of unlisted compounds: {len(salts):,} rows, "
          f"{len(salt_ids):,} CAS numbers and names; false controlled/designer {len(alarms)}")
    for v in alarms:
        print(f"    FALSE ALARM (salt, review): {describe(v)}")

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"crashes: {crashes}")
    print(f"total time {time.perf_counter() - t_start:.0f} s; peak memory (RSS) {peak:,.0f} MB")
    if crashes:
        sys.exit(1)


if __name__ == "__main__":
    main()
