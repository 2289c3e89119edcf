"""Re-derive every substance's SMILES from its systematic name with OPSIN and compare.

Not imported at runtime. Run `python -m precursorwatch.controls._derive_structures` to list
disagreements between the stored SMILES and OPSIN's parse of `systematic_name` (compared by
InChIKey after standardisation); `--fill` writes the derived SMILES into records whose
`smiles` is still empty. Records without a systematic name keep a hand-drawn SMILES, checked
by tests against the formula.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml
from py2opsin import py2opsin

from precursorwatch.chem.structure import StructureError, from_smiles

SUBSTANCES = Path(__file__).resolve().parent / "data" / "substances" / "core.yaml"


def derive(names: list[str]) -> list[str]:
    """Standardised SMILES for each name ("" where OPSIN cannot parse it), in one OPSIN call."""
    with tempfile.TemporaryDirectory() as tmp:  # py2opsin's default input file is in the cwd
        raw = py2opsin(names, tmp_fpath=str(Path(tmp) / "names.txt"))
    out: list[str] = []
    for smi in raw if isinstance(raw, list) else [raw]:
        try:
            out.append(from_smiles(smi).smiles if smi else "")
        except StructureError:
            out.append("")
    return out


def _quoted_after(smiles: str) -> Callable[[re.Match[str]], str]:
    def replace(m: re.Match[str]) -> str:
        return m.group(1) + '"' + smiles + '"'
    return replace


def main(argv: list[str]) -> int:
    records = yaml.safe_load(SUBSTANCES.read_text(encoding="utf-8"))
    named = [r for r in records if r.get("systematic_name")]
    derived = dict(zip((r["id"] for r in named), derive([r["systematic_name"] for r in named]),
                       strict=True))
    text = SUBSTANCES.read_text(encoding="utf-8")
    problems = 0
    for rec in named:
        new = derived[rec["id"]]
        if not new:
            print(f"{rec['id']}: OPSIN cannot parse {rec['systematic_name']!r}")
            problems += 1
            continue
        old = rec.get("smiles") or ""
        if not old:
            if "--fill" in argv:
                pattern = re.compile(
                    r"(- id: " + re.escape(rec["id"]) + r"\n(?:  .*\n)*?  smiles: )\"\"")
                text, n = pattern.subn(_quoted_after(new), text, count=1)
                print(f"{rec['id']}: filled {new}" if n else f"{rec['id']}: no smiles line")
            else:
                print(f"{rec['id']}: empty, OPSIN gives {new}")
                problems += 1
        elif from_smiles(old).inchikey != from_smiles(new).inchikey:
            print(f"{rec['id']}: stored {old} differs from OPSIN {new}")
            problems += 1
    if "--fill" in argv:
        SUBSTANCES.write_text(text, encoding="utf-8")
    print(f"{len(named)} names checked, {problems} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
