"""The catalogue scan end to end on small files: SMILES (with a header, names, a salt and bad
lines) and SDF; CSV and JSONL; one process and several."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from designer_controls import small_controls
from rdkit import Chem

from precursorwatch.detect.scan import ScanError, read_smiles, scan_catalogue, write_summary

TODAY = dt.date(2026, 11, 23)

CATALOGUE = """smiles\tname
CCC(=O)N(c1ccccc1)C1CCN(C(=O)OC(C)(C)C)CC1\tBoc-norfentanyl
C1CC2(CCN1)OCCO2\t4-piperidone ethylene ketal
CCO\tethanol
C1CC(N\tbroken ring
OC1(CCN(CCCC(=O)c2ccc(F)cc2)CC1)c1ccc(Cl)cc1\thaloperidol

O=C1CCN(CCc2ccccc2)CC1.Cl\tNPP hydrochloride
CC(=O)Nc1ccc(O)cc1\tparacetamol
CCC(=O)N(c1ccccc1)C1CCN(CCc2cccs2)CC1\tthiofentanyl
O=C1CCN(CCc2ccc(F)cc2)CC1\t1-(4-fluorophenethyl)-4-piperidone
Xx\tnot chemistry
"""


@pytest.fixture()
def catalogue(tmp_path: Path) -> Path:
    path = tmp_path / "vendor.smi"
    path.write_text(CATALOGUE, encoding="utf-8")
    return path


@pytest.mark.parametrize("processes", [1, 2])
def test_scan_jsonl_writes_only_hits_with_evidence(catalogue: Path, tmp_path: Path,
                                                  processes: int) -> None:
    out = tmp_path / "hits.jsonl"
    summary = scan_catalogue(catalogue, out=out, format="jsonl", as_of=TODAY, jurisdictions=["US"],
                             controls=small_controls(), processes=processes, progress=False,
                             chunk_size=3)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    by_name = {r["name"]: r for r in rows}
    assert set(by_name) == {"Boc-norfentanyl", "4-piperidone ethylene ketal", "NPP hydrochloride",
                            "thiofentanyl", "1-(4-fluorophenethyl)-4-piperidone"}
    assert [r["record"] for r in rows] == sorted(r["record"] for r in rows)  # input order
    boc = by_name["Boc-norfentanyl"]
    assert boc["verdict"] == "designer"
    assert boc["matches"][0]["explanation"].startswith("Boc-norfentanyl --[Boc deprotection]--> ")
    assert boc["matches"][0]["steps"][0]["transformation"] == "Boc deprotection"
    assert by_name["NPP hydrochloride"]["verdict"] == "controlled"
    assert by_name["NPP hydrochloride"]["matches"][0]["basis"] == "salt"
    assert by_name["thiofentanyl"]["matches"][0]["rule"] == "us-frs-a-monocycle"
    assert by_name["1-(4-fluorophenethyl)-4-piperidone"]["verdict"] == "watch"
    # Bad lines are reported with their line numbers and skipped; the run goes on.
    assert [(b.where, b.number) for b in summary.bad] == [("line", 5), ("line", 12)]
    assert "unparsable SMILES" in summary.bad[0].reason
    assert summary.records == 10 and summary.written == 5
    assert summary.verdicts == {"designer": 2, "controlled": 2, "watch": 1}
    assert summary.candidates < summary.records  # the pre-screen left some out


def test_scan_csv_and_summary(catalogue: Path) -> None:
    buffer = io.StringIO()
    summary = scan_catalogue(catalogue, out=buffer, format="csv", as_of=TODAY,
                             controls=small_controls(), processes=1, progress=False)
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert {r["name"] for r in rows} >= {"Boc-norfentanyl", "thiofentanyl"}
    ketal = next(r for r in rows if r["name"] == "4-piperidone ethylene ketal")
    assert ketal["verdict"] == "designer" and ketal["basis"] == "transformation"
    assert ketal["substance"] == "4-piperidone"
    assert ketal["steps"].startswith("ketal/acetal hydrolysis: ")
    assert json.loads(ketal["evidence"])[0]["basis"] == "transformation"
    report = io.StringIO()
    write_summary(summary, report)
    assert "skipped line 5: unparsable SMILES" in report.getvalue()


def test_scan_sdf_reports_bad_records_by_number(tmp_path: Path) -> None:
    blocks = []
    for name, smiles in [("ketal", "C1CC2(CCN1)OCCO2"), ("ethanol", "CCO")]:
        mol = Chem.MolFromSmiles(smiles)
        mol.SetProp("_Name", name)
        blocks.append(Chem.MolToMolBlock(mol) + "$$$$\n")
    blocks.insert(1, "broken\n  nothing here\n\n  2  1  0  0\nM  END\n$$$$\n")
    path = tmp_path / "vendor.sdf"
    path.write_text("".join(blocks), encoding="utf-8")
    out = io.StringIO()
    summary = scan_catalogue(path, out=out, format="jsonl", as_of=TODAY,
                             controls=small_controls(), processes=1, progress=False)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["record"], r["name"], r["verdict"]) for r in rows] == [(1, "ketal", "designer")]
    assert [(b.where, b.number) for b in summary.bad] == [("record", 2)]


def test_scan_refuses_what_it_cannot_start(tmp_path: Path) -> None:
    with pytest.raises(ScanError, match="no such file"):
        scan_catalogue(tmp_path / "missing.smi", controls=small_controls(), progress=False)
    with pytest.raises(ScanError, match="format"):
        scan_catalogue(tmp_path, format="xml", controls=small_controls())  # type: ignore[arg-type]
    with pytest.raises(ScanError, match="depth"):
        scan_catalogue(tmp_path, depth=9, controls=small_controls())


def test_read_smiles_separators_and_header() -> None:
    records = list(read_smiles(["SMILES,name\n", "CCO,ethanol\n", "# note\n", "CCN ethylamine x\n",
                                "CCC\n"]))
    assert [(r.number, r.text, r.name) for r in records] == [
        (2, "CCO", "ethanol"), (4, "CCN", "ethylamine x"), (5, "CCC", "")]


def test_prescreen_never_drops_what_the_assessment_would_flag() -> None:
    """Every case-table compound, every listed substance (and its salt) passes the pre-screen,
    over the bundled lists and the small test lists; look-alikes mostly do not."""
    from cases_designer import CAUGHT, CLEAR

    from precursorwatch.controls.load import load_controls
    from precursorwatch.detect.scan import build_screen, is_candidate, quick_parse

    for controls in (load_controls(), small_controls()):
        screen = build_screen(controls, 0.52)
        listed = [s.smiles for s in controls.substances]
        kekule = [Chem.MolToSmiles(Chem.MolFromSmiles(c[1]), kekuleSmiles=True) for c in CAUGHT]
        must = [c[1] for c in CAUGHT] + kekule + listed + [f"{s}.Cl" for s in listed]
        for smiles in must:
            # from the SMILES text (catalogue lines) and from the molecule alone (SDF records)
            assert is_candidate(quick_parse(smiles), screen, smiles), smiles
            assert is_candidate(quick_parse(smiles), screen), smiles
        passed = [name for name, smiles in CLEAR
                  if is_candidate(quick_parse(smiles), screen, smiles)]
        assert len(passed) <= len(CLEAR) // 4, passed
        # Salts and Kekulé-written everyday chemicals are screened like their parents.
        for smiles in ("CC(=O)Nc1ccc(O)cc1.Cl", "CC(=O)NC1=CC=C(O)C=C1", "OCC(O)CO.O"):
            assert not is_candidate(quick_parse(smiles), screen, smiles), smiles
            assert not is_candidate(quick_parse(smiles), screen), smiles


def test_kekule_input_is_judged_like_aromatic_input(tmp_path: Path) -> None:
    path = tmp_path / "kekule.smi"
    # thiofentanyl and the NPP ethylene ketal written with Kekulé rings
    path.write_text("CCC(=O)N(C1=CC=CC=C1)C1CCN(CCC2=CC=CS2)CC1 thio\n"
                    "C1=CC=C(C=C1)CCN1CCC2(CC1)OCCO2 ketal\n", encoding="utf-8")
    out = io.StringIO()
    scan_catalogue(path, out=out, format="jsonl", as_of=TODAY, controls=small_controls(),
                   processes=1, progress=False)
    verdicts = {r["name"]: r["verdict"] for r in map(json.loads, out.getvalue().splitlines())}
    assert verdicts == {"thio": "controlled", "ketal": "designer"}


def test_impossible_valence_is_a_bad_record(tmp_path: Path) -> None:
    path = tmp_path / "valence.smi"
    path.write_text("CC(C)(C)(C)(C)C pentavalent\nC1CC2(CCN1)OCCO2 ketal\n", encoding="utf-8")
    out = io.StringIO()
    summary = scan_catalogue(path, out=out, format="jsonl", as_of=TODAY,
                             controls=small_controls(), processes=1, progress=False)
    assert [(b.number, "valence" in b.reason) for b in summary.bad] == [(1, True)]
    assert summary.written == 1
