"""Resolve and check 100,000 identifiers drawn from a realistic mix, with repeats.

Prints identifiers per second (warm: after one pass has filled the caches, as in a long-running
screening service) and peak memory. Then, side by side on the same distinct SMILES (real
compounds: a fixed-seed sample of the PubChem-derived table of the `chemicals` package, none
seen before), plain RDKit parsing plus InChIKey, and `check` (parse, standardise, resolve
names, decide the verdict), each with cold caches.

Usage: python benchmarks/check_bench.py [N] [--smiles M]   (M distinct SMILES, default 5000)
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import time

from rdkit import Chem

from precursorwatch.chem.structure import from_smiles
from precursorwatch.chem.vocabulary import default_sources, read_table
from precursorwatch.detect.check import Checker

# What manifests and order lines contain: listed precursors under every kind of name, salts,
# everyday chemicals, SMILES, CAS numbers (some with wrong check digits), typos and junk.
POOL = [
    "39742-60-4", "NPP", "N-Phenethyl-4-piperidone", "1-phenethyl-4-piperidone", "ANPP",
    "4-ANPP", "21409-26-7", "4-AP", "4-anilinopiperidine", "23056-29-3", "1-boc-4-AP",
    "N-BOC-4-AP", "125541-22-2", "norfentanyl", "1609-66-1", "4-piperidone", "41661-47-6",
    "4-Piperidone HCl H2O", "4-piperidone hydrochloride monohydrate", "N-Boc-4-piperidone",
    "79099-07-3", "tert-butyl 4-oxopiperidine-1-carboxylate", "1609-66-5", "23056-29-9",
    "acetone", "toluene", "67-64-1", "108-88-3", "ethanol", "water", "caffeine", "paracetamol",
    "sodium chloride", "citric acid", "glycerol", "haloperidol", "loperamide", "4-aminopyridine",
    "2-piperidone", "1-phenylpiperazine", "ephedrine", "pseudoephedrine hydrochloride",
    "phenylacetone", "safrole", "piperonal", "acetic anhydride", "potassium permanganate",
    "O=C1CCN(CCc2ccccc2)CC1", "CCC(=O)N(c1ccccc1)C1CCNCC1", "CC(=O)Nc1ccc(O)cc1", "CCO",
    "N-phenethyl-4-piperidnone", "tert-butyl 4-anilinopiperidine-1-carboxylate",
    "2-methylpropan-1-ol", "ethyl acetate", "propan-2-one", "benzaldehyde", "vanillin",
    "chemical intermediate", "pharma raw material", "", "x" * 200,
]


FRAGMENTS = ["C", "CC", "C(C)C", "c1ccccc1", "c1ccncc1", "C1CCNCC1", "O", "N", "C(=O)", "OC",
             "Cl", "F", "C1CCOCC1", "c1ccc(F)cc1", "S(=O)(=O)", "C#N", "N(C)C", "C(F)(F)F"]


def make_batch(n: int, seed: int = 7) -> list[str]:
    """Zipf-like repeats of POOL (a few identifiers dominate, as repeated descriptions do in
    trade data), plus a long tail: 2% distinct SMILES built from fragments and 0.5% distinct
    unknown names (catalogue codes) that go all the way through OPSIN and fuzzy matching."""
    rng = random.Random(seed)
    weights = [1.0 / (i + 1) ** 0.8 for i in range(len(POOL))]
    batch = rng.choices(POOL, weights=weights, k=n)
    for i in range(0, n, 50):
        batch[i] = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(3, 6))) + "C"
    for i in range(25, n, 200):
        batch[i] = f"pharma intermediate PW-{rng.randint(10_000, 99_999)}"
    return batch


def distinct_smiles(m: int, seed: int = 11) -> list[str]:
    """M distinct SMILES of real compounds from the PubChem-derived table, fixed seed."""
    large = [p for p in default_sources() if "large" in p.name]
    if not large:
        return []
    smiles = list(dict.fromkeys(r.smiles for r in read_table(large[0])))
    return random.Random(seed).sample(smiles, min(m, len(smiles)))


def side_by_side(checker: Checker, smiles: list[str], on: dt.date) -> None:
    """Plain RDKit (parse + InChIKey) against `check` on the same distinct SMILES.

    Wall time and this process's CPU time are both printed: on a shared host the CPU ratio
    is the steadier one (other processes' load stretches wall time, not CPU time)."""
    t0, c0 = time.perf_counter(), time.process_time()
    for smi in smiles:
        mol = Chem.MolFromSmiles(smi)
        if mol is not None:
            Chem.MolToInchiKey(mol)
    rdkit_s, rdkit_cpu = time.perf_counter() - t0, time.process_time() - c0
    from_smiles.cache_clear()  # `check` must parse them afresh too
    t1, c1 = time.perf_counter(), time.process_time()
    verdicts = checker.check_batch(smiles, as_of=on)
    check_s, check_cpu = time.perf_counter() - t1, time.process_time() - c1
    m = len(smiles)
    print(f"distinct SMILES of real compounds: {m:,}")
    print(f"  plain RDKit parse + InChIKey: {m / rdkit_s:,.0f} SMILES/s ({rdkit_s:.2f} s; "
          f"CPU {rdkit_cpu:.2f} s)")
    print(f"  check (cold): {m / check_s:,.0f} SMILES/s ({check_s:.2f} s; CPU {check_cpu:.2f} s); "
          f"{rdkit_s / check_s:.0%} of plain RDKit (CPU: {rdkit_cpu / check_cpu:.0%})")
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.verdict] = counts.get(v.verdict, 0) + 1
    print(f"  verdicts: {counts}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=100_000)
    ap.add_argument("--smiles", type=int, default=5000,
                    help="distinct SMILES for the side-by-side part (0: skip)")
    args = ap.parse_args()
    n = args.n
    batch = make_batch(n)
    on = dt.date(2026, 11, 23)
    t0 = time.perf_counter()
    checker = Checker.default()
    t_load = time.perf_counter() - t0
    t1 = time.perf_counter()
    checker.check_batch(batch, as_of=on)
    cold = time.perf_counter() - t1
    t2 = time.perf_counter()
    verdicts = checker.check_batch(batch, as_of=on)
    warm = time.perf_counter() - t2
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counts: dict[str, int] = {}
    for v in verdicts:
        counts[v.verdict] = counts.get(v.verdict, 0) + 1
    print(f"identifiers: {n:,} ({len(set(batch)):,} distinct)")
    print(f"load lists + index: {t_load:.2f} s")
    print(f"first pass (cold caches, OPSIN once): {n / cold:,.0f} identifiers/s ({cold:.2f} s)")
    print(f"warm pass: {n / warm:,.0f} identifiers/s ({warm:.2f} s)")
    print(f"peak memory (RSS): {peak_mb:,.0f} MB")
    print(f"verdicts: {counts}")
    if args.smiles:
        side_by_side(checker, distinct_smiles(args.smiles), on)


if __name__ == "__main__":
    main()
