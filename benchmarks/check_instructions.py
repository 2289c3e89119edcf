"""Instructions `check` executes on distinct SMILES beside plain RDKit parse + InChIKey, counted
by valgrind's callgrind: a measure the machine's load does not move, unlike the time figures of
`check_bench.py` (same SMILES: its fixed-seed sample of the table).

    .venv/bin/python benchmarks/check_instructions.py [N]    # the first N SMILES, default 1000

Each side runs in a process of its own under `valgrind --tool=callgrind --instr-atstart=no`;
counting is switched on (`callgrind_control -i on`) only around the measured loop, after the
lists, the indexes and a warm-up batch are loaded, as in `check_bench.py`. Needs valgrind.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from check_bench import distinct_smiles, make_batch

ON = dt.date(2026, 11, 23)


def _counting(state: str) -> None:
    subprocess.run(["callgrind_control", "-i", state, str(os.getpid())], check=True,
                   stdout=subprocess.DEVNULL)
    time.sleep(0.5)  # the switch takes effect at the tool's next check


def measured(side: str, n: int) -> None:
    """The loop counted, run inside valgrind: `side` is `rdkit` or `check`."""
    from rdkit import Chem

    from precursorwatch.chem.structure import from_smiles
    from precursorwatch.detect.check import Checker

    smiles = distinct_smiles(5000)[:n]
    checker = Checker.default()
    checker.check_batch(make_batch(2000), as_of=ON)
    from_smiles.cache_clear()  # `check` parses them afresh, as plain RDKit does
    _counting("on")
    if side == "rdkit":
        for smi in smiles:
            mol = Chem.MolFromSmiles(smi)
            if mol is not None:
                Chem.MolToInchiKey(mol)
    else:
        checker.check_batch(smiles, as_of=ON)
    _counting("off")


def instructions(side: str, n: int, folder: Path) -> int:
    out = folder / f"callgrind.{side}.out"
    subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                    f"--callgrind-out-file={out}", sys.executable, __file__, "--side", side,
                    str(n)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for line in out.read_text().splitlines():
        if line.startswith("totals:"):  # what was counted ("summary:" may say 0 before it)
            return int(line.split()[1])
    raise RuntimeError(f"no instruction total in {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=1000)
    parser.add_argument("--side", choices=("rdkit", "check"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        measured(args.side, args.n)
        return
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        sys.exit("needs valgrind (Debian package valgrind)")
    with tempfile.TemporaryDirectory(prefix="pw-callgrind-") as folder:
        rdkit = instructions("rdkit", args.n, Path(folder))
        check = instructions("check", args.n, Path(folder))
    print(f"first {args.n:,} distinct SMILES: plain RDKit parse + InChIKey {rdkit / 1e9:.3f} G "
          f"instructions; check {check / 1e9:.3f} G; check does {check / rdkit:.2f} times the "
          f"work ({rdkit / check:.0%} of plain RDKit's rate at equal speed)")


if __name__ == "__main__":
    main()
