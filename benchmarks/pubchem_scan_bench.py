"""Check every compound of the PubChem-derived table of the `chemicals` package (about 71,000).

For each row the SMILES (and, with --names, the common name) goes through `check_batch`
without OPSIN. Prints identifiers per second, the verdict counts, and what must stay zero:
internal errors, and inorganic salts (no carbon, several kinds of fragment besides water)
called controlled on any basis other than their own identity (a chloride as hydrochloric acid,
a permanganate as potassium permanganate).
Usage: python benchmarks/pubchem_scan_bench.py [N] [--names]
"""

from __future__ import annotations

import collections
import datetime as dt
import random
import sys
import time
from importlib.resources import files

from rdkit import Chem

from precursorwatch.controls.load import load_controls
from precursorwatch.detect.check import Checker

TODAY = dt.date(2026, 11, 23)


def read_rows() -> list[tuple[str, str]]:
    """(common name, SMILES) of every row."""
    table = files("chemicals") / "Identifiers" / "chemical identifiers pubchem large.tsv"
    rows = []
    for line in table.read_text("utf-8").splitlines():
        cols = line.split("\t")
        if len(cols) > 8 and cols[4]:
            rows.append((cols[8], cols[4]))
    return rows


def inorganic_salt(smiles: str) -> bool:
    """No carbon, and more than one kind of fragment besides water (a hydrate of an acid is the
    acid)."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None or any(a.GetAtomicNum() == 6 for a in mol.GetAtoms()):
        return False
    kinds = {Chem.MolToSmiles(f) for f in Chem.GetMolFrags(mol, asMols=True)} - {"O"}
    return len(kinds) > 1


def scan(checker: Checker, rows: list[tuple[str, str]], column: int) -> None:
    inputs = [r[column] for r in rows]
    start = time.perf_counter()
    verdicts = checker.check_batch(inputs, as_of=TODAY)
    took = time.perf_counter() - start
    counts = collections.Counter(v.verdict for v in verdicts)
    internal = [v for v in verdicts if "internal error" in (v.reason or "")]
    false_salts = [
        (name, smiles, v.matches[0].substance)
        for (name, smiles), v in zip(rows, verdicts, strict=True)
        if v.verdict == "controlled" and inorganic_salt(smiles)
        and any(m.basis != "identity" for m in v.matches)
    ]
    what = "SMILES" if column == 1 else "common names"
    print(f"{len(inputs)} {what}: {took:.1f} s ({len(inputs) / took:.0f} per second)")
    print(f"  verdicts: {dict(counts)}")
    print(f"  internal errors: {len(internal)}")
    for v in internal[:10]:
        print(f"    {v.input[:60]!r}: {v.reason}")
    print(f"  inorganic salts controlled other than as themselves: {len(false_salts)}")
    for row in false_salts[:10]:
        print(f"    {row}")


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    rows = read_rows()
    if args:
        rows = random.Random(1988).sample(rows, int(args[0]))
    checker = Checker(load_controls(), use_opsin=False)
    scan(checker, rows, 1)
    if "--names" in sys.argv:
        scan(checker, rows, 0)


if __name__ == "__main__":
    main()
