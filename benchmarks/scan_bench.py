"""Catalogue scan benchmark: molecules per second and recall of planted designer precursors.

The catalogue is built reproducibly (fixed seed) from RDKit-parsable SMILES fragments:
`CORES` are drug-like ring systems and linkers with one or two open slots written `{}` (each
slot sits where a branch is valid SMILES), `SUBSTITUENTS` are groups that fill a slot. A
molecule is a core whose slots are filled either by a substituent or, one time in three, by a
one-slot core that is itself filled by a substituent (two levels). Candidates are kept when
RDKit parses them and they have 12-45 heavy atoms; duplicates are dropped until N unique
SMILES remain. Cores include piperidines, piperazines, 4-aminopiperidines and Boc/Cbz-protected
amines, so the pre-screens see realistic look-alikes. The planted compounds are every
"transformation" row of the designer case table (tests/detect/cases_designer.py), inserted at
seeded positions. 2 % of the background molecules are built on a 4-amino-, 4-hydroxy- or
4-oxopiperidine core (`PIPERIDONE_SHARE`), an assumed share for a vendor catalogue; these are
the molecules the fentanyl gate passes to the full assessment, so the speed depends on it.

    .venv/bin/python benchmarks/scan_bench.py [--n 200000] [--processes 2] [--seed 20261123]

Prints the catalogue size, wall time and molecules per second, the CPU time of the reader and
the workers (so a run on a shared, loaded machine can be read as what idle cores would do),
the verdict counts, and the recall of the planted compounds (flagged = controlled, designer
or watch).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from rdkit import Chem, RDLogger

from precursorwatch.controls.load import load_controls
from precursorwatch.detect.scan import scan_catalogue

RDLogger.DisableLog("rdApp.*")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "detect"))
from cases_designer import CAUGHT  # noqa: E402

CORES = [
    "c1ccc({})cc1", "c1cc({})ccc1{}", "c1ccc({})c({})c1", "n1cc({})ccc1{}", "c1ccc2[nH]c({})cc2c1",
    "c1ccc2oc({})cc2c1", "c1csc({})c1", "c1cnc({})nc1{}", "C1CCN(CC1){}", "C1CN(CCN1{}){}",
    "C1COCCN1{}", "O=C(N{}){}", "CC(C)(C)OC(=O)N{}", "O=C(OCc1ccccc1)N{}", "c1ccc2ncccc2c1{}",
    "C1CC(CCC1{}){}", "c1cn({})cn1", "O=S(=O)(N{}){}", "C(=O)(O{}){}", "c1cc2OCOc2cc1{}",
    "C1CCC(CC1)N{}", "c1ccc(cc1)C(=O)N{}", "N1(CCCC1){}", "C1CN(C1){}", "c1ccc(nc1){}",
    "OC(=O)C{}", "NC(=O)c1ccc({})cc1", "c1nc2ccccc2n1{}", "c1ccc(-c2ccccc2{})cc1",
    "C1CC(CCN1{})C(=O)N{}", "C1CC(CCN1{})c1ccccc1",
    "O=C1CCC(CC1){}", "c1ccc2c(c1)CCN({})C2", "C1CCN(C1)C(=O){}", "c1ccc(cc1)S(=O)(=O)N{}",
    "c1cc(ccc1{})C#N", "FC(F)(F)c1ccc({})cc1", "COc1ccc({})cc1OC", "c1ccc2c(c1)ncn2{}",
    "C(C{}){}", "C(CC{})N{}", "c1nnc({})o1", "c1cc({})no1", "O=C1NC(=O)C({})S1",
]
# Piperidines with N or O on C4 (4-amino-, 4-hydroxy-, 4-oxo-): common building blocks, and
# what the fentanyl gate lets through. They make up PIPERIDONE_SHARE of the background.
PIPERIDONE_CORES = ["C1CC(CCN1{})N{}", "C1CC(CCN1{})O{}", "O=C1CCN(CC1){}"]
PIPERIDONE_SHARE = 0.02
SUBSTITUENTS = [
    "C", "CC", "C(C)C", "C1CC1", "OC", "F", "Cl", "Br", "C(F)(F)F", "C#N", "N(C)C", "C(=O)O",
    "C(=O)OC", "C(=O)N", "S(=O)(=O)C", "c1ccccc1", "c1ccc(F)cc1", "c1ccc(Cl)cc1", "c1ccncc1",
    "c1ccsc1", "Cc1ccccc1", "CCc1ccccc1", "CCO", "CCN(C)C", "C(=O)c1ccccc1", "C(=O)C",
    "C(=O)CC", "N1CCOCC1", "N1CCN(C)CC1", "N1CCCC1", "OCC", "OC(F)(F)F", "c1ccc2OCOc2c1",
    "C(=O)NC", "NC(=O)C", "NS(=O)(=O)C", "CC(=O)O", "CCCC", "C(C)(C)C", "OC1CCCC1",
    "c1cnccn1", "C(=O)OC(C)(C)C", "C(=O)OCc1ccccc1", "Cc1ccc(OC)cc1", "c1ccc2ccccc2c1", "CC#N",
    "C=C", "C#C", "C1CCOCC1", "CCOc1ccccc1", "N", "O", "c1ccoc1", "C(=O)N1CCCC1",
    "S(=O)(=O)N", "CCCN1CCCC1", "c1ccc(cc1)OC", "C(O)c1ccccc1", "CC(C)O", "c1cc(C)on1",
]
ONE_SLOT = [c for c in CORES if c.count("{}") == 1]


def _fill(rng: random.Random, core: str, level: int) -> str:
    parts = []
    for _ in range(core.count("{}")):
        if level < 2 and rng.random() < 1 / 3:
            parts.append(_fill(rng, rng.choice(ONE_SLOT), level + 1))
        else:
            parts.append(rng.choice(SUBSTITUENTS))
    return core.format(*parts)


def build_catalogue(n: int, seed: int) -> list[str]:
    """n unique, RDKit-parsable, drug-sized SMILES from the fragments, reproducibly."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        pool = PIPERIDONE_CORES if rng.random() < PIPERIDONE_SHARE else CORES
        smiles = _fill(rng, rng.choice(pool), 1)
        if smiles in seen:
            continue
        seen.add(smiles)
        mol = Chem.MolFromSmiles(smiles)
        if mol is None or not 12 <= mol.GetNumHeavyAtoms() <= 45:
            continue
        out.append(smiles)
    return out


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def planted() -> list[tuple[str, str]]:
    rows = [(name, smiles) for name, smiles, label, _, _ in CAUGHT
            if label.startswith("transformation:")]
    return list(dict.fromkeys(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--depth", type=int, default=1)
    args = parser.parse_args()

    t0 = time.perf_counter()
    background = build_catalogue(args.n, args.seed)
    plants = planted()
    rng = random.Random(args.seed + 1)
    lines = [f"{s}\tbg{i}" for i, s in enumerate(background)]
    for i, (_, smiles) in enumerate(plants):
        lines.insert(rng.randrange(len(lines)), f"{smiles}\tplant{i}")
    built = time.perf_counter() - t0
    controls = load_controls()

    with tempfile.TemporaryDirectory() as tmp:
        catalogue = Path(tmp) / "catalogue.smi"
        catalogue.write_text("smiles\tname\n" + "\n".join(lines) + "\n", encoding="utf-8")
        out = Path(tmp) / "hits.jsonl"
        cpu_self, cpu_children = time.process_time(), _children_cpu()
        summary = scan_catalogue(catalogue, out=out, format="jsonl", as_of=dt.date(2026, 11, 23),
                                 depth=args.depth, processes=args.processes, controls=controls,
                                 progress=False)
        reader_cpu = time.process_time() - cpu_self
        cpu = reader_cpu + (_children_cpu() - cpu_children)
        hits = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]

    found = {h["name"]: h["verdict"] for h in hits}
    plant_verdicts = [found.get(f"plant{i}", "clear") for i in range(len(plants))]
    flagged = sum(v != "clear" for v in plant_verdicts)
    background_hits: dict[str, int] = {}
    for h in hits:
        if h["name"].startswith("bg"):
            background_hits[h["verdict"]] = background_hits.get(h["verdict"], 0) + 1
    print(f"catalogue: {summary.records:,} molecules ({len(background):,} generated with seed "
          f"{args.seed} in {built:.1f} s, {len(plants)} planted)")
    print(f"scan: {summary.seconds:.2f} s with {args.processes} processes, depth {args.depth}: "
          f"{summary.per_second:,.0f} molecules/s")
    per_cpu = summary.records / cpu if cpu > 0 else 0.0
    print(f"CPU time (reader {reader_cpu:.2f} s + workers {cpu - reader_cpu:.2f} s): {cpu:.2f} s "
          f"= {per_cpu:,.0f} molecules per CPU-second;"
          f" {args.processes} idle cores would give about {args.processes * per_cpu:,.0f}/s")
    print(f"pre-screen candidates: {summary.candidates:,} "
          f"({100 * summary.candidates / max(summary.records, 1):.2f} %)")
    print(f"written: {summary.written:,} {dict(summary.verdicts)}; skipped {len(summary.bad)}")
    print(f"background flagged: {background_hits}")
    print(f"planted recall: {flagged}/{len(plants)} = {flagged / len(plants):.3f} "
          f"(designer {plant_verdicts.count('designer')}, "
          f"controlled {plant_verdicts.count('controlled')}, "
          f"watch {plant_verdicts.count('watch')})")
    missed = [plants[i][0] for i, v in enumerate(plant_verdicts) if v == "clear"]
    if missed:
        print("missed: " + ", ".join(missed))


if __name__ == "__main__":
    main()
