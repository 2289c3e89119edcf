"""Conventions a command-line user expects: --version, '-' for stdin, --fail-on, --quiet, and a
pipe closed early ending quietly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from precursorwatch.cli import app
from tests.screen.conftest import SAMPLE_MANIFEST

runner = CliRunner()
PWATCH = [sys.executable, "-m", "precursorwatch.cli"]
SMALL = "shipment_id,description\nS1,NPP 25kg\nS2,cotton T-shirts\n"


def test_version_names_the_program_and_its_control_data() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("pwatch ") and "control data" in result.stdout


def test_screen_reads_standard_input() -> None:
    result = runner.invoke(app, ["screen", "-", "--quiet"], input=SMALL)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["shipment_id"] for r in rows] == ["S1", "S2"]
    assert rows[0]["level"] == "high" and rows[1]["level"] == "none"
    assert result.stderr == ""  # --quiet: no summary


def test_screen_reads_json_lines_from_standard_input() -> None:
    lines = "\n".join(json.dumps({"shipment_id": f"J{i}", "description": d})
                      for i, d in enumerate(["4-piperidone HCl 5kg", "urea"]))
    result = runner.invoke(app, ["screen", "-", "--input-format", "jsonl", "-q"], input=lines)
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["shipment_id"] for x in result.stdout.splitlines()] == ["J0", "J1"]


def test_empty_standard_input_is_a_clear_error() -> None:
    result = runner.invoke(app, ["screen", "-"], input="")
    assert result.exit_code == 2 and "standard input is empty" in result.stderr


def test_fail_on_gates_a_pipeline(tmp_path: Path) -> None:
    clean = tmp_path / "clean.csv"
    clean.write_text("shipment_id,description\nS1,cotton T-shirts\n", encoding="utf-8")
    assert runner.invoke(app, ["screen", str(clean), "--fail-on", "high", "-q"]).exit_code == 0
    risky = runner.invoke(app, ["screen", "-", "--fail-on", "high"], input=SMALL)
    assert risky.exit_code == 1 and "screened 2 shipments" in risky.stderr
    bad = runner.invoke(app, ["screen", str(clean), "--fail-on", "severe"])
    assert bad.exit_code == 2


def test_scan_reads_standard_input() -> None:
    result = runner.invoke(app, ["scan", "-", "--format", "jsonl", "-q"],
                           input="O=C1CCN(CCc2ccccc2)CC1 NPP\nCCO ethanol\n")
    assert result.exit_code == 0, result.output
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert [h["verdict"] for h in hits] == ["controlled"]


def test_a_pipe_closed_early_ends_quietly() -> None:
    # `pwatch screen … | head -1` on a manifest whose output outgrows the pipe buffer.
    proc = subprocess.Popen([*PWATCH, "screen", str(SAMPLE_MANIFEST), "--format", "jsonl"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert json.loads(first)["shipment_id"]
    assert "Traceback" not in err and "cannot write" not in err, err


def test_a_missing_optional_stack_names_the_extra_to_install() -> None:
    # As on a core install without the `dask` extra: the import of distributed fails.
    code = ("import sys; sys.modules['distributed'] = None; "
            "sys.argv = ['pwatch', 'screen', sys.argv[1], '--engine', 'dask', '-q']; "
            "from precursorwatch.cli import main; main()")
    proc = subprocess.run([sys.executable, "-c", code, str(SAMPLE_MANIFEST)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "pip install 'precursorwatch[dask]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_scan_names_twenty_skipped_records_and_counts_the_rest(tmp_path: Path) -> None:
    catalogue = tmp_path / "junk.smi"
    catalogue.write_text("".join(f"C1CC(({i}\n" for i in range(35)) + "CCO ethanol\n",
                         encoding="utf-8")
    result = runner.invoke(app, ["scan", str(catalogue), "--processes", "1"])
    assert result.exit_code == 0, result.output
    named = [line for line in result.stderr.splitlines() if line.startswith("skipped line")]
    assert len(named) == 20
    assert "... and 15 more skipped records" in result.stderr


def test_check_quiet_drops_the_notes(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("NPP\n\n\ncaffeine\n", encoding="utf-8")
    loud = runner.invoke(app, ["check", "--file", str(ids), "--format", "jsonl"])
    quiet = runner.invoke(app, ["check", "--file", str(ids), "--format", "jsonl", "--quiet"])
    assert "skipped 2 empty line(s)" in loud.stderr and quiet.stderr == ""
    assert loud.stdout == quiet.stdout


def test_unreadable_standard_input_is_named_as_such() -> None:
    result = runner.invoke(app, ["screen", "-", "--input-format", "xlsx"], input="garbage\n")
    assert result.exit_code == 2
    assert "standard input (read as xlsx): the manifest cannot be screened" in result.stderr
    assert "pwatch-stdin-" not in result.stderr
