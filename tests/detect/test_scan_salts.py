"""`pwatch scan` finds a listed base whatever the size of its counter-acid, as `check` does."""

from __future__ import annotations

from pathlib import Path

import pytest

from precursorwatch.detect.scan import scan_catalogue

SALTS = [
    ("CC(N)C(O)c1ccccc1.OC(=O)CC(O)(CC(=O)O)C(=O)O", "norephedrine citrate"),
    ("C1CCNCC1.OC(=O)CC(O)(CC(=O)O)C(=O)O", "piperidine citrate"),
    ("O=C1CCNCC1.Cc1ccc(S(=O)(=O)O)cc1", "4-piperidone tosylate"),
    ("OC(=O)CC(O)(CC(=O)O)C(=O)O.CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1", "fentanyl citrate"),
]
CLEAR = [("CCO.O", "ethanol hydrate"), ("[Na+].[Cl-]", "sodium chloride"),
         ("OC(=O)CC(O)(CC(=O)O)C(=O)O.C[N+](C)(C)C", "tetramethylammonium citrate")]


@pytest.mark.parametrize("processes", [1])
def test_salts_with_a_large_counter_acid_are_found(tmp_path: Path, processes: int) -> None:
    catalogue = tmp_path / "salts.smi"
    catalogue.write_text("".join(f"{smi}\t{name}\n" for smi, name in SALTS + CLEAR),
                         encoding="utf-8")
    out = tmp_path / "hits.jsonl"
    summary = scan_catalogue(catalogue, out=str(out), format="jsonl", processes=processes,
                             progress=False)
    text = out.read_text(encoding="utf-8")
    for _, name in SALTS:
        assert f'"{name}"' in text, name
    for _, name in CLEAR:
        assert f'"{name}"' not in text, name
    assert summary.written == len(SALTS)
    assert summary.verdicts.get("controlled") == len(SALTS)
