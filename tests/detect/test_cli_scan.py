"""`pwatch scan` end to end over the bundled lists: a small catalogue with a bad line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from precursorwatch.cli import app

runner = CliRunner()

CATALOGUE = """smiles name
c1ccc(CCN2CCC3(CC2)OCCO3)cc1 NPP ethylene ketal
OC1(CCN(CCCC(=O)c2ccc(F)cc2)CC1)c1ccc(Cl)cc1 haloperidol
C1CC(N broken
O=C1CCN(CCc2ccccc2)CC1.Cl NPP hydrochloride
CN(C)C(=O)C(CCN1CCC(O)(CC1)c1ccc(Cl)cc1)(c1ccccc1)c1ccccc1 loperamide
"""


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_scan_writes_hits_and_reports_the_bad_line(tmp_path: Path) -> None:
    catalogue = tmp_path / "vendor.smi"
    catalogue.write_text(CATALOGUE, encoding="utf-8")
    out = tmp_path / "hits.jsonl"
    code, _, err = run("scan", str(catalogue), "--out", str(out), "--format", "jsonl",
                       "--as-of", "2026-11-23", "--processes", "1", "--depth", "2", "-j", "US")
    assert code == 0, err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["name"], r["verdict"]) for r in rows] == [
        ("NPP ethylene ketal", "designer"), ("NPP hydrochloride", "controlled")]
    route = rows[0]["matches"][0]
    assert route["basis"] == "transformation"
    assert route["explanation"].startswith(
        "NPP ethylene ketal --[ketal/acetal hydrolysis]--> N-phenethyl-4-piperidone")
    assert "skipped line 4: unparsable SMILES" in err
    assert "5 records" in err


def test_scan_csv_to_stdout(tmp_path: Path) -> None:
    catalogue = tmp_path / "vendor.smi"
    catalogue.write_text(CATALOGUE, encoding="utf-8")
    code, out, _ = run("scan", str(catalogue), "-q", "-p", "1", "--as-of", "2026-11-23")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["name"] for r in rows} == {"NPP ethylene ketal", "NPP hydrochloride"}
    assert next(r for r in rows if r["name"] == "NPP hydrochloride")["basis"] == "salt"


def test_scan_usage_errors_exit_2(tmp_path: Path) -> None:
    for args, message in [
        (("scan", str(tmp_path / "missing.smi")), "no such file"),
        (("scan", str(tmp_path), "--as-of", "23/11/2026"), "--as-of"),
        (("scan", str(tmp_path), "-j", "XX"), "--jurisdiction"),
        (("scan", str(tmp_path), "--depth", "7"), "--depth"),
        (("scan", str(tmp_path), "--processes", "0"), "--processes"),
    ]:
        code, _, err = run(*args)
        assert code == 2 and message in err, (args, err)
        assert "Traceback" not in err
