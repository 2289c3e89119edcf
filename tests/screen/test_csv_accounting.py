"""Every line of a CSV manifest is accounted for: a broken quote never swallows the lines after it.

The property test mangles the bundled sample manifest (a real-looking booking export) with stray
quotes, extra delimiters, blank lines, other line endings and encodings, and checks that the
records' line spans cover every non-blank line exactly once, and that the screening run gives
one result (shipment or BAD_ROW) per record.
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from precursorwatch.screen.engine import ScreenOptions, screen_file
from precursorwatch.screen.readers import (
    CsvRecord,
    ManifestError,
    csv_record_blocks,
    csv_rows_from,
    open_manifest,
    split_csv_records,
    split_point,
)
from tests.screen.conftest import SAMPLE_MANIFEST

SAMPLE_LINES = SAMPLE_MANIFEST.read_text(encoding="utf-8").splitlines()


def _lines(text: str) -> list[str]:
    return io.StringIO(text, newline="").readlines()


def _assert_partition(text: str) -> int:
    """The records' spans cover each non-blank line once, in order; returns the record count."""
    lines = _lines(text)
    covered: list[int] = []
    records = list(split_csv_records(lines, ","))
    for rec in records:
        assert rec.first_line <= rec.last_line
        covered.extend(range(rec.first_line, rec.last_line + 1))
    non_blank = [i for i, ln in enumerate(lines, start=1) if ln.strip()]
    assert sorted(covered) == sorted(set(covered)), "a line was read twice"
    assert set(non_blank) <= set(covered), "a line was lost"
    # A span may include blank lines inside a quoted value, never lines outside the file.
    assert set(covered) <= set(range(1, len(lines) + 1))
    return len(records)


def test_unclosed_quote_does_not_swallow_the_next_shipments(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text('shipment_id,description\nS1,"acetone 200L\nS2,NPP 1kg\nS3,caffeine\n',
                    encoding="utf-8")
    run = screen_file(path, options=ScreenOptions())
    by_id = {r.shipment_id: r for r in run.results}
    assert len(run.results) == 3
    bad = [r for r in run.results if any(f.code == "BAD_ROW" for f in r.flags)]
    assert len(bad) == 1 and "line 2" in bad[0].flags[0].detail
    assert "never closed" in bad[0].flags[0].detail
    assert by_id["S2"].risk > 0
    assert [c["verdict"] for c in by_id["S2"].chemicals] == ["controlled"]
    assert by_id["S2"].chemicals[0]["name"] == "N-phenethyl-4-piperidone"
    assert "S3" in by_id


def test_quoted_value_over_several_lines_is_one_record() -> None:
    text = 'id,description,address\nS1,"NPP 1kg","Room 5,\nBuilding 2"\nS2,urea,x\n'
    records = list(split_csv_records(_lines(text), ","))
    assert [(r.first_line, r.last_line) for r in records] == [(1, 1), (2, 3), (4, 4)]
    assert records[1].cells == ["S1", "NPP 1kg", "Room 5,\nBuilding 2"]


def test_text_after_a_closing_quote_is_a_bad_record_and_the_next_line_survives() -> None:
    text = 'id,description\nS1,"NPP" 1kg\nS2,4-piperidone\n'
    records = list(split_csv_records(_lines(text), ","))
    assert records[1].cells is None and "badly quoted" in records[1].error
    assert records[2].cells == ["S2", "4-piperidone"]


_MANGLES = st.sampled_from(['"', '""', ",", '",', ',"', "\n", "\r\n", "\r", "\n\n", ";"])


@st.composite
def mangled_manifest(draw: st.DrawFn) -> str:
    lines = list(SAMPLE_LINES[: draw(st.integers(min_value=2, max_value=len(SAMPLE_LINES)))])
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        i = draw(st.integers(min_value=1, max_value=len(lines) - 1))
        pos = draw(st.integers(min_value=0, max_value=len(lines[i])))
        lines[i] = lines[i][:pos] + draw(_MANGLES) + lines[i][pos:]
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return ending.join(lines) + draw(st.sampled_from(["", ending]))


@settings(max_examples=300, deadline=None)
@given(mangled_manifest())
def test_every_line_of_a_mangled_manifest_is_accounted_for(text: str) -> None:
    _assert_partition(text)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=mangled_manifest(),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
def test_screening_gives_one_result_per_record(tmp_path: Path, text: str, encoding: str) -> None:
    path = tmp_path / "m.csv"
    path.write_bytes(text.encode(encoding, errors="replace"))
    decoded = path.read_bytes().decode(encoding, errors="replace").lstrip("\ufeff")
    records = _assert_partition(decoded)
    run = screen_file(path, options=ScreenOptions())
    assert len(run.results) == records - 1  # the header is the first record


def _block_records(text: str, block_chars: int) -> list[tuple[int, int, list[str] | None, str]]:
    """`csv_record_blocks` as (first line, last line, cells, error); good records carry no line
    numbers there, so they are given those `split_csv_records` found."""
    out = []
    for block in csv_record_blocks(io.StringIO(text, newline=""), ",", block_chars):
        for item in block:
            if isinstance(item, CsvRecord):
                out.append((item.first_line, item.last_line, item.cells, item.error))
            else:
                out.append((0, 0, item, ""))
    return out


@settings(max_examples=300, deadline=None)
@given(text=mangled_manifest(), block_chars=st.sampled_from([1, 40, 200, 1 << 20]))
def test_block_reader_reads_the_same_records_as_the_line_reader(text: str,
                                                                block_chars: int) -> None:
    expected = [(r.first_line, r.last_line, r.cells, r.error) if r.cells is None
                else (0, 0, r.cells, "") for r in split_csv_records(_lines(text), ",")]
    assert _block_records(text, block_chars) == expected


@pytest.mark.parametrize("text", [
    'a,b\n\n   \n"x",y\r\nz,"w\nv"\nq,"open\nn,\x00m\n',
    'a,b\nx"y,"z\nnext,1\n',  # even quotes, but the second opens a value left open
    'a,b\n"1",2\n"3" ,4\n5,6\n',  # text after a closing quote
    'a,b\r1,2\r"3\r4",5\r',  # old Mac line ends
    "a,b\n" + "\n".join(f'"{i}",{i}' for i in range(2000)) + '\n"unclosed,1\n',
])
def test_block_reader_on_awkward_lines(text: str) -> None:
    expected = [(r.first_line, r.last_line, r.cells, r.error) if r.cells is None
                else (0, 0, r.cells, "") for r in split_csv_records(_lines(text), ",")]
    for block_chars in (1, 7, 64, 1 << 20):
        assert _block_records(text, block_chars) == expected


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=mangled_manifest(), copies=st.integers(min_value=1, max_value=6),
       fraction=st.sampled_from([0.2, 0.5, 0.8]))
def test_rows_read_from_a_split_point_are_those_of_the_whole_file(
        tmp_path: Path, text: str, copies: int, fraction: float) -> None:
    header, _, rest = text.partition("\n")
    path = tmp_path / "m.csv"
    path.write_text(header + "\n" + rest * copies, encoding="utf-8", newline="")
    try:
        whole = list(open_manifest(path).rows)
    except ManifestError:
        return
    manifest = open_manifest(path)
    at = split_point(manifest, fraction)
    if at is None:
        return
    first = list(itertools.islice(manifest.rows, at.rows_before))
    assert first + list(csv_rows_from(manifest, at)) == whole


# Lines whose quotes are all paired, blank lines of every kind of white space, lines that start
# with white space, non-ASCII text, and lines that open or close a quoted value.
_PIECES = st.sampled_from([
    "a,b,c\n", '"x, y",2,3\n', "\n", "  \n", "\r\n", "\x0c\n", "é,à,ü\n", '"""",1\n',
    "a\x1c\n", "\u3000\n", '"a""b",c\r\n', " x\n", "\xa0\n", "\u2029\n", "\x85\n", "\t\r\n",
    "\u2003b\n", '"\n', 'q,"w\n', 'e",r\n',
])


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(_PIECES, max_size=40),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "latin-1"]),
       block=st.sampled_from([1, 5, 64, 1 << 22]))
def test_split_point_counts_the_records_before_it_as_the_record_reader_does(
        lines: list[str], encoding: str, block: int) -> None:
    """The records before a split point are counted on the bytes, a block at a time, when no
    line holds an odd number of quotes; the count is that of reading them as records."""
    from precursorwatch.screen.readers import _FirstLines, _head_lines, count_csv_records

    raw = ("h1,h2,h3\n" + "".join(lines)).encode(encoding, errors="replace")
    got = _head_lines(io.BytesIO(raw), len(raw), encoding, block)
    assert got is not None
    count, records = got
    assert count == raw.count(b"\n") + 1
    text = io.StringIO(raw.decode(encoding, errors="replace"), newline="")
    exact = count_csv_records(_FirstLines(text, count - 1), ",")
    assert records == exact or records is None
    if not any(ln.count('"') % 2 for ln in lines):
        assert records == exact


def test_split_point_leaves_a_file_with_bare_carriage_returns_whole() -> None:
    from precursorwatch.screen.readers import _head_lines

    raw = b"h1,h2\na,b\r\nc,d\re,f\n"
    assert _head_lines(io.BytesIO(raw), len(raw), "utf-8", 4) is None
    assert _head_lines(io.BytesIO(raw[:11]), 11, "utf-8", 4) == (3, 2)
