"""`pwatch check` per Contract 1, driven as a user would."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from precursorwatch.cli import app

runner = CliRunner()


def run(*args: str, stdin: str | bytes | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_jsonl_one_object_per_input_in_order() -> None:
    code, out, _ = run("check", "1-boc-4-AP", "caffeine", "1609-66-5", "--format", "jsonl")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["input"] for r in rows] == ["1-boc-4-AP", "caffeine", "1609-66-5"]
    assert [r["verdict"] for r in rows] == ["controlled", "clear", "unresolved"]
    boc = rows[0]
    assert boc["resolved_by"] == "synonym"
    assert boc["smiles"] and boc["inchikey"]
    m = boc["matches"][0]
    assert set(m) >= {"substance", "jurisdiction", "list", "since", "basis", "explanation",
                      "source"}


def test_json_is_an_array() -> None:
    code, out, _ = run("check", "NPP", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert isinstance(data, list) and data[0]["verdict"] == "controlled"


def test_table_is_readable() -> None:
    code, out, _ = run("check", "NPP", "haloperidol")
    assert code == 0
    assert "controlled" in out and "clear" in out
    assert "Table I" in out


def test_file_and_stdin(tmp_path: Path) -> None:
    f = tmp_path / "ids.txt"
    f.write_bytes(b"\xef\xbb\xbfNPP\n\n4-piperidone\n\n")
    code, out, err = run("check", "--file", str(f), "--format", "jsonl")
    assert code == 0
    assert len(out.splitlines()) == 2
    assert "skipped 2 empty line(s)" in err and "2, 4" in err
    code, out, _ = run("check", "--file", "-", "--format", "jsonl", stdin="ANPP\nwater\n")
    assert [json.loads(x)["verdict"] for x in out.splitlines()] == ["controlled", "clear"]


def test_binary_junk_and_long_lines_do_not_stop_the_batch(tmp_path: Path) -> None:
    f = tmp_path / "junk.txt"
    f.write_bytes(b"NPP\n\x00\x01\xfe\xff\x80junk\n" + b"C" * 10_000 + b"x\nANPP\n")
    code, out, _ = run("check", "--file", str(f), "--format", "jsonl")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["verdict"] for r in rows] == ["controlled", "unresolved", "unresolved", "controlled"]
    assert "control characters" in rows[1]["reason"]
    assert "too long" in rows[2]["reason"]


def test_fail_on() -> None:
    assert run("check", "NPP", "--fail-on", "controlled,designer")[0] == 1
    assert run("check", "water", "--fail-on", "controlled,designer")[0] == 0


def test_usage_errors_are_clear_and_exit_2(tmp_path: Path) -> None:
    cases = [
        (("check", "NPP", "--jurisdiction", "XX"), "unknown jurisdiction 'XX'"),
        (("check", "NPP", "--as-of", "2024/01/01"), "not a date in YYYY-MM-DD form"),
        (("check", "NPP", "--fail-on", "bad"), "unknown verdict"),
        (("check", "--file", str(tmp_path / "missing.txt")), "no such file"),
        (("check",), "nothing to check"),
        (("check", "--file", str(tmp_path)), "is a directory"),
    ]
    for args, message in cases:
        code, _, err = run(*args)
        assert code == 2, args
        assert message in err, (args, err)
        assert "Traceback" not in err


def test_as_of_and_jurisdiction() -> None:
    code, out, _ = run("check", "4-piperidone", "--as-of", "2020-01-01", "-j", "UN",
                       "--format", "jsonl")
    assert code == 0
    row = json.loads(out)
    assert not any(m["jurisdiction"] == "UN" and m["basis"] == "identity" for m in row["matches"])


def test_brackets_in_inputs_and_file_names_are_shown_as_written(tmp_path: Path) -> None:
    """The table and messages are printed with Rich: text from the user must not be read as
    its markup ("[/]" would stop the program, "[bold]" would vanish)."""
    code, out, _ = run("check", "[/]", "[bold]urea", "--format", "table")
    assert code == 0
    assert "[/]" in out and "[bold]urea" in out
    _, designer, _ = run("check", "O=C1CCN(CCc2cccs2)CC1", "--depth", "2", "-j", "US",
                         "--format", "table")
    assert "--[reductive" in designer  # the step's label, not swallowed as a style tag
    code, _, err = run("check", "--file", str(tmp_path / "[x]ids.txt"))
    assert code == 2 and "[x]ids.txt" in err


def test_each_match_says_how_its_citation_was_checked() -> None:
    from precursorwatch.controls.load import load_controls

    code, out, _ = run("check", "NPP", "--format", "json")
    assert code == 0
    matches = json.loads(out)[0]["matches"]
    controls = load_controls()
    listed = {(x.jurisdiction, x.list, x.since.isoformat()): x.verification
              for x in controls.listings_for("npp")}
    rules = {r.id: r.verification for r in controls.rules}
    assert matches
    for m in matches:
        expected = (rules[m["rule"]] if m["rule"]
                    else listed[(m["jurisdiction"], m["list"], m["since"])])
        assert m["verification"] == expected


def test_the_table_marks_a_listing_not_cited_to_the_instrument() -> None:
    from precursorwatch.cli import _lists_cell
    from precursorwatch.detect.verdict import Match, Threshold, Verdict

    def match(jurisdiction: str, verification: str) -> Match:
        return Match.model_validate({
            "substance": "NPP", "jurisdiction": jurisdiction, "list": "L", "category": "C",
            "since": "2017-10-18", "basis": "identity", "explanation": "", "source": "",
            "verification": verification})

    with_limit = match("CA", "primary").model_copy(
        update={"threshold": Threshold(quantity=1, unit="kg", basis="retail sale")})
    verdict = Verdict(input="NPP", resolved_by="synonym", verdict="controlled", matches=[
        match("UN", "primary"), match("US", "secondary"), match("EU", "unverified"), with_limit])
    assert _lists_cell(verdict).splitlines() == [
        "UN C (2017)", "US C (2017) (secondary source)", "EU C (2017) (unverified source)",
        "CA C (2017), threshold 1 kg"]
