"""Manifest readers: CSV (any delimiter, common encodings, BOM), XLSX, JSON/JSONL, Parquet.

Each reader yields `(row_number, RawRow)` with canonical column names, or `(row_number,
Problem)` for a row that cannot even be read (a broken JSON line, a ragged CSV line); row
numbers count data rows from 1, so row 1 is the line under the header. File-level trouble
(unreadable file, missing required column) raises `ManifestError` with every problem at once.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import re
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import and_, itemgetter
from pathlib import Path
from typing import IO, Any, Protocol, cast

from precursorwatch.screen.columns import match_headers
from precursorwatch.screen.model import CANONICAL_COLUMNS, Problem, RawRow

RowItem = tuple[int, RawRow | Problem]
# A row as its cells: stripped texts in CANONICAL_COLUMNS order, "" for a column not in the file.
Cells = tuple[str, ...]
CellsItem = tuple[int, Cells | Problem]
_SNIFF_BYTES = 1 << 16
# A quoted value may run over a few lines (an address); an open quote still open after this many
# lines is a broken quote, not a value.
MAX_RECORD_LINES = 50


class ManifestError(ValueError):
    """The manifest cannot be screened at all; `problems` lists every reason."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s):\n{lines}")


@dataclass(slots=True)
class Manifest:
    """An opened manifest: its headers, how they map to canonical columns, and its rows."""

    path: Path
    format: str
    headers: list[str]
    mapping: dict[str, str]  # canonical -> header
    rows: Iterator[RowItem]
    encoding: str = ""
    delimiter: str = ""
    notes: list[str] = field(default_factory=list)


def detect_encoding(sample: bytes) -> str:
    """The text encoding of a CSV from its first bytes: BOM first, then UTF-8, else cp1252.

    cp1252 decodes what Excel on Windows writes; latin-1 bytes it cannot decode are rare.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # A multi-byte character cut at the end of the sample is not an error.
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:
            try:
                sample.decode("cp1252")
            except UnicodeDecodeError:
                return "latin-1"
            return "cp1252"
    return "utf-8"


def detect_delimiter(text_sample: str) -> str:
    """The delimiter that splits the header and first lines into the same number of fields."""
    lines = [ln for ln in text_sample.splitlines()[:20] if ln.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # the last line of a sample may be cut
    best, best_fields = ",", 1
    for delim in (",", ";", "\t", "|"):
        counts = [len(next(csv.reader([ln], delimiter=delim))) for ln in lines] or [1]
        if counts[0] > 1 and all(c == counts[0] for c in counts) and counts[0] > best_fields:
            best, best_fields = delim, counts[0]
    return best


@dataclass(frozen=True, slots=True)
class CsvRecord:
    """One CSV record and the physical lines it came from (1-based, the header is line 1).

    `cells` is None when the lines could not be read as a record; `error` then says why."""

    first_line: int
    last_line: int
    cells: list[str] | None
    error: str = ""


def split_csv_records(lines: Iterable[str], delimiter: str) -> Iterator[CsvRecord]:
    """Split physical lines into CSV records, accounting for every non-blank line.

    A quote that is never closed must not swallow the rest of the file (the csv module reads
    to the end of the file looking for it): the line that opened it becomes a record with an
    error, and the lines after it are read again on their own. Lines are expected as
    `open(..., newline="")` returns them (line endings kept); blank lines yield nothing.
    """
    numbered = enumerate(lines, start=1)
    replay: deque[tuple[int, str]] = deque()
    while True:
        item = replay.popleft() if replay else next(numbered, None)
        if item is None:
            return
        line_no, line = item
        if '"' not in line:
            # No quote: the csv module would split exactly here; a plain split is much faster.
            text = line.rstrip("\r\n")
            if text.strip():
                yield CsvRecord(line_no, line_no, text.split(delimiter))
            continue
        group = [item]
        quotes = line.count('"')
        while quotes % 2 and len(group) < MAX_RECORD_LINES:
            nxt = replay.popleft() if replay else next(numbered, None)
            if nxt is None:
                break
            group.append(nxt)
            quotes += nxt[1].count('"')
        error = ""
        if quotes % 2:
            error = "a quote opened on this line is never closed"
        else:
            try:
                rows = list(csv.reader(io.StringIO("".join(t for _, t in group)),
                                       delimiter=delimiter, strict=True))
            except csv.Error as exc:
                error = f"badly quoted value ({exc})"
            else:
                if len(rows) == 1:
                    yield CsvRecord(line_no, group[-1][0], rows[0])
                    continue
                error = "badly quoted value"
        yield CsvRecord(line_no, line_no, None, error)
        # The lines after a broken one are read again on their own: nothing is lost.
        replay.extendleft(reversed(group[1:]))


# Lines read at a time by `csv_record_blocks` (characters, roughly): large enough that the csv
# module's C reader does nearly all the work, small enough to keep memory flat.
_BLOCK_CHARS = 1 << 20


def _group_record(lines: Sequence[str], first_line: int, delimiter: str) -> CsvRecord:
    """The record of physical lines that open and close a quoted value (or the error)."""
    try:
        rows = list(csv.reader(io.StringIO("".join(lines)), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        return CsvRecord(first_line, first_line, None, f"badly quoted value ({exc})")
    if len(rows) == 1:
        return CsvRecord(first_line, first_line + len(lines) - 1, rows[0])
    return CsvRecord(first_line, first_line, None, "badly quoted value")


def _blank(line: str) -> bool:
    return not line.strip()


def _single_lines(lines: Sequence[str], first_line: int, delimiter: str
                  ) -> list[list[str] | CsvRecord]:
    """Records of lines that each hold an even number of quotes: each line is its own record
    (a blank one none), exactly as `split_csv_records` reads them."""
    # A blank line is no record; there rarely is one.
    kept = [ln for ln in lines if ln.strip()] if any(map(_blank, lines)) else lines
    with suppress(csv.Error):
        rows = list(csv.reader(kept, delimiter=delimiter, strict=True))
        # As many rows as lines: no line ran on into the next, so each row is its line's.
        if len(rows) == len(kept):
            return rows  # type: ignore[return-value]
    out: list[list[str] | CsvRecord] = []
    for n, line in enumerate(lines, start=first_line):
        if '"' not in line:
            text = line.rstrip("\r\n")
            if text.strip():
                out.append(text.split(delimiter))
            continue
        rec = _group_record([line], n, delimiter)
        out.append(rec.cells if rec.cells is not None else rec)
    return out


class LineSource(Protocol):
    """A text stream's lines, a block at a time (what `csv_record_blocks` reads)."""

    def readlines(self, hint: int = -1, /) -> list[str]: ...


def csv_record_blocks(fh: LineSource, delimiter: str, block_chars: int = _BLOCK_CHARS, *,
                      first_line: int = 1,
                      single: Callable[[list[str], int, str], list[Any]] | None = None
                      ) -> Iterator[list[list[str] | CsvRecord]]:
    """The records of a CSV text stream, in blocks: each record's cells, or a `CsvRecord` whose
    `cells` is None and `error` says why the line could not be read.

    The same records as `split_csv_records` gives for the stream's lines, read many lines at a
    time: a run of lines that each hold an even number of quotes (nearly every line of a
    manifest) goes through the csv module's C reader in one call; a line with an odd number
    of quotes opens a quoted value over several lines and is read by the same rules as there.
    The stream should be opened with `newline=""`; `first_line` is the physical line number of
    its first line. `single` replaces the reading of a run of even lines (`_single_lines`).
    """
    read_single = single or _single_lines
    lines: list[str] = []
    odd: list[int] = []  # positions in `lines` of lines with an odd number of quotes
    base = first_line  # the physical line number of lines[0]
    pos = 0
    eof = False

    def fill() -> bool:
        nonlocal eof
        if eof:
            return False
        new = fh.readlines(block_chars)
        if not new:
            eof = True
            return False
        start = len(lines)
        # Each line's quote count's parity, counted in C; positions only where one is odd.
        parity = list(map(and_, map(str.count, new, repeat('"')), repeat(1)))
        if 1 in parity:
            odd.extend([start + i for i, p in enumerate(parity) if p])
        lines.extend(new)
        return True

    out: list[list[str] | CsvRecord] = []
    while True:
        if pos >= len(lines):
            if out:
                yield out
                out = []
            base += len(lines)
            lines.clear()
            odd.clear()
            pos = 0
            if not fill():
                return
        i = bisect_left(odd, pos)
        stop = odd[i] if i < len(odd) else len(lines)
        if stop > pos:
            out.extend(read_single(lines[pos:stop], base + pos, delimiter))
            pos = stop
            continue
        # An odd number of quotes: a quoted value runs on over the next lines.
        end = pos + 1
        quotes = lines[pos].count('"')
        while quotes % 2 and end - pos < MAX_RECORD_LINES:
            if end >= len(lines) and not fill():
                break
            quotes += lines[end].count('"')
            end += 1
        if quotes % 2:
            out.append(CsvRecord(base + pos, base + pos, None,
                                 "a quote opened on this line is never closed"))
            pos += 1  # the lines after it are read again on their own
            continue
        rec = _group_record(lines[pos:end], base + pos, delimiter)
        if rec.cells is None:
            out.append(rec)
            pos += 1
        else:
            out.append(rec.cells)
            pos = end


def _count_single_lines(lines: list[str], first_line: int, delimiter: str) -> list[Any]:
    # Each non-blank line of an even run is one record (see `_single_lines`).
    return [None] * sum(1 for ln in lines if ln.strip())


def count_csv_records(fh: LineSource, delimiter: str, *, first_line: int = 1) -> int:
    """How many records `csv_record_blocks` finds in the stream, without parsing the lines
    that are each one record."""
    return sum(len(b) for b in csv_record_blocks(fh, delimiter, first_line=first_line,
                                                 single=_count_single_lines))


@dataclass(frozen=True, slots=True)
class SplitPoint:
    """A line of a CSV manifest where reading can start afresh: no quoted value of the lines
    before it runs on to it, so the records from there on are those of a reading of the
    whole file."""

    offset: int  # bytes from the start of the file
    line: int  # its physical line number (the header is line 1)
    rows_before: int  # data rows (records after the header) before it


# Byte encodings whose quotes and line ends are the single bytes 0x22, 0x0A and 0x0D.
_BYTE_LINE_ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1")


def split_point(manifest: Manifest, fraction: float = 0.5) -> SplitPoint | None:
    """A clean place to split a CSV manifest near `fraction` of its size, or None (another
    format or encoding, old Mac line ends, no such place): after 50 lines in a row that each
    hold an even number of quotes, no multi-line value can still be open (a quoted value
    runs over at most MAX_RECORD_LINES lines)."""
    if manifest.format != "csv" or manifest.encoding not in _BYTE_LINE_ENCODINGS:
        return None
    path = manifest.path
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(int(size * fraction))
        fh.readline()  # the rest of a line cut by the seek
        even = 0
        while even < MAX_RECORD_LINES:
            text_line = fh.readline()
            if not text_line:
                return None
            even = even + 1 if text_line.count(b'"') % 2 == 0 else 0
        offset = fh.tell()
        if offset >= size:
            return None
        fh.seek(0)
        head = _head_lines(fh, offset, manifest.encoding)
    if head is None:
        return None  # a bare CR ends a line too: leave such files whole
    line, records = head
    if records is None:  # a quoted value over several lines: read the records as text
        with path.open("r", encoding=manifest.encoding, errors="replace", newline="") as text:
            records = count_csv_records(_FirstLines(text, line - 1), manifest.delimiter)
    return SplitPoint(offset, line, records - 1)


# Every byte but the quote and the line feed: what `_head_lines` deletes to see quote parity.
_NOT_QUOTE_OR_LF = bytes(b for b in range(256) if b not in b'"\n')
# Bytes a line that `str.strip` leaves empty can start with, in the encodings split points are
# made for: ASCII white space and line ends, \x1c-\x1f, NEL and no-break space (0x85, 0xa0 in
# cp1252 and latin-1), and the first bytes of UTF-8's white space beyond ASCII (U+0085,
# U+00A0: 0xc2; U+1680: 0xe1; U+2000-U+205F: 0xe2; U+3000: 0xe3).
_BLANK_START_BYTES = b"\n\r\t \x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\xc2\xe1\xe2\xe3"
_BLANK_START = {bytes([b]) for b in _BLANK_START_BYTES}
_BARE_CR = re.compile(b"\r(?!\n)")
_MAY_START_BLANK = re.compile(b"\n[" + re.escape(_BLANK_START_BYTES) + b"]")


def _head_lines(fh: IO[bytes], size: int, encoding: str, block: int = 1 << 22
                ) -> tuple[int, int | None] | None:
    """The physical line number after the first `size` bytes (whole lines) of a CSV file, and
    the number of records in them when no line holds an odd number of quotes (then each
    non-blank line is one record, as `csv_record_blocks` reads it), else None for the
    records; None for all when a bare CR ends a line.

    Read in blocks, with the bytes and text methods alone (no step per line in Python): a
    million-line manifest's first half takes a fraction of the time of reading it as records.
    """
    lines = 1
    records: int | None = 0
    left = size
    rest = b""
    while left > 0 or rest:
        data = fh.read(min(left, block)) if left > 0 else b""
        left -= len(data)
        if not data and left > 0:
            left = 0  # the file is shorter than `size`: count what there is
        chunk = rest + data
        cut = chunk.rfind(b"\n") + 1 if left > 0 else len(chunk)
        chunk, rest = chunk[:cut], chunk[cut:]
        if not chunk:
            continue
        if b"\r" in chunk and _BARE_CR.search(chunk):
            return None
        # Quotes and line ends only, line by line: pairs of quotes vanish; a quote left is
        # a line's odd one.
        ends = chunk.translate(None, _NOT_QUOTE_OR_LF).replace(b'""', b"")
        count = ends.count(b"\n")
        lines += count
        if records is None:
            continue
        if b'"' in ends:
            records = None
        elif chunk[:1] in _BLANK_START or _MAY_START_BLANK.search(chunk):
            # A line may be blank (or start with white space): look at each line's text.
            text = chunk.decode(encoding, errors="replace")
            records += sum(map(bool, map(str.strip, text.split("\n"))))
        else:
            records += count
    return lines, records


class _FirstLines:
    """The first `count` lines of a text stream, read with `readlines`."""

    def __init__(self, fh: IO[str], count: int) -> None:
        self._fh = fh
        self._left = count

    def readlines(self, hint: int = -1) -> list[str]:
        if self._left <= 0:
            return []
        lines = self._fh.readlines(hint)[:self._left]
        self._left -= len(lines)
        return lines


def csv_rows_from(manifest: Manifest, at: SplitPoint, *, as_cells: bool = False
                  ) -> Iterator[Any]:
    """The rows of a CSV manifest from a split point on, numbered as in the whole file (as
    cells with `as_cells`, see `RowStream`)."""
    return chain.from_iterable(csv_blocks_from(manifest, at, as_cells=as_cells))


def csv_blocks_from(manifest: Manifest, at: SplitPoint, *, as_cells: bool = True
                    ) -> Iterator[list[Any]]:
    """`csv_rows_from` a block of rows at a time (cells unless `as_cells` is False)."""
    encoding = "utf-8" if manifest.encoding == "utf-8-sig" else manifest.encoding
    raw = manifest.path.open("rb")
    raw.seek(at.offset)
    fh = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
    with fh:
        yield from _canonical_csv_blocks(
            csv_record_blocks(fh, manifest.delimiter, first_line=at.line), manifest.headers,
            manifest.mapping, rows_before=at.rows_before, as_cells=as_cells)


def _line_problem(row_no: int, rec: CsvRecord) -> Problem:
    return Problem(row_no, "(line)", "", f"line {rec.first_line} of the file: {rec.error}; the "
                   "lines after it are read on their own")


def _header(first: list[str] | CsvRecord | None, path: Path) -> list[str]:
    if first is None:
        return []
    if isinstance(first, CsvRecord):
        if first.cells is None:
            raise ManifestError(path, [Problem(0, "(header)", "", f"line {first.first_line}: "
                                               f"{first.error}")])
        first = first.cells
    return [h.strip().lstrip("\ufeff") for h in first]


def _cell_text(value: Any) -> str:
    """A cell from XLSX/JSON/Parquet as manifest text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ";".join(_cell_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value).strip()


def _canonical_rows(
    records: Iterator[tuple[int, list[str] | Problem]], headers: list[str],
    mapping: Mapping[str, str]
) -> Iterator[RowItem]:
    index = {h: i for i, h in enumerate(headers)}
    pairs = [(canon, index[h]) for canon, h in mapping.items()]
    width = len(headers)
    for row_no, cells in records:
        if isinstance(cells, Problem):
            yield row_no, cells
            continue
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            yield row_no, Problem(row_no, "(line)", "", f"{len(cells)} fields, the header has "
                                  f"{width}: a delimiter or quote inside a value?")
            continue
        n = len(cells)
        yield row_no, {canon: (cells[i].strip() if i < n else "") for canon, i in pairs}


def _canonical_csv_rows(blocks: Iterator[list[list[str] | CsvRecord]], headers: list[str],
                        mapping: Mapping[str, str], rows_before: int = 0) -> Iterator[RowItem]:
    """Each record of the blocks as a numbered row (row 1 is the first record after the header):
    canonical column -> stripped text, or the Problem of a line that could not be read."""
    return chain.from_iterable(_canonical_csv_blocks(blocks, headers, mapping, rows_before))


def _canonical_csv_blocks(blocks: Iterator[list[list[str] | CsvRecord]], headers: list[str],
                          mapping: Mapping[str, str], rows_before: int = 0, *,
                          as_cells: bool = False) -> Iterator[list[Any]]:
    """The numbered rows of `_canonical_csv_rows`, a block at a time. `as_cells`: each row as
    the tuple of its stripped texts in CANONICAL_COLUMNS order ("" for a column the file
    lacks), a third of the cost of a dict."""
    index = {h: i for i, h in enumerate(headers)}
    canon = tuple(mapping)
    positions = [index[h] for h in mapping.values()]
    width = len(headers)
    needed = max(positions) + 1
    # itemgetter gives a bare value, not a tuple, for a single position.
    pick = itemgetter(*positions) if len(positions) > 1 else (lambda c: (c[positions[0]],))
    strip = str.strip
    # Every column mapped, in the header's order (the usual export): no picking needed.
    in_order = positions == list(range(width))
    # For cells: each canonical column's position in a record, `width` (an empty text added
    # at the end of the record) for a column the file lacks.
    cell_positions = [index[mapping[c]] if c in mapping else width for c in CANONICAL_COLUMNS]
    cells_in_order = cell_positions == list(range(width))
    pick_cells = itemgetter(*cell_positions)
    row_no = rows_before
    for block in blocks:
        # The usual block: every record read, none ragged or short; made in one comprehension.
        if _only_lists(block):
            full = cast(list[list[str]], block)
            if all(map(width.__eq__, map(len, full))):
                made: list[Any]
                if not as_cells:
                    made = ([dict(zip(canon, map(strip, cells), strict=True)) for cells in full]
                            if in_order else
                            [dict(zip(canon, map(strip, pick(cells)), strict=True))
                             for cells in full])
                elif cells_in_order:
                    made = [tuple(map(strip, cells)) for cells in full]
                else:
                    deque(map(list.append, full, repeat("")), maxlen=0)
                    made = [tuple(map(strip, pick_cells(cells))) for cells in full]
                yield list(zip(range(row_no + 1, row_no + len(full) + 1), made, strict=True))
                row_no += len(full)
                continue
        out: list[Any] = []
        for cells in block:
            row_no += 1
            if isinstance(cells, CsvRecord):
                out.append((row_no, _line_problem(row_no, cells)))
                continue
            n = len(cells)
            if n > width and any(c.strip() for c in cells[width:]):
                out.append((row_no, Problem(row_no, "(line)", "", f"{n} fields, the header "
                                            f"has {width}: a delimiter or quote inside a "
                                            "value?")))
            elif as_cells:
                out.append((row_no, tuple(cells[i].strip() if i < min(n, width) else ""
                                          for i in cell_positions)))
            elif n >= needed:
                out.append((row_no, dict(zip(canon, map(strip, pick(cells)), strict=True))))
            else:
                out.append((row_no, {c: (cells[i].strip() if i < n else "")
                                     for c, i in zip(canon, positions, strict=True)}))
        if out:
            yield out


def _only_lists(block: list[list[str] | CsvRecord]) -> bool:
    return not block or set(map(type, block)) == {list}


def _csv_rows(fh: IO[str], delimiter: str, path: Path, overrides: Mapping[str, str]
              ) -> tuple[list[str], dict[str, str], Callable[[bool], Iterator[Any]]]:
    """Headers, their mapping and the numbered rows of a CSV stream (as dicts, or as cells
    when called with True); ManifestError for a header that cannot be read or lacks a required
    column."""
    blocks = csv_record_blocks(fh, delimiter)
    first = next(blocks, [])
    headers = _header(first[0] if first else None, path)
    mapping, problems = match_headers(headers, overrides)
    if problems:
        raise ManifestError(path, problems)

    def rows(as_cells: bool) -> Iterator[list[Any]]:
        return _canonical_csv_blocks(chain([first[1:]], blocks), headers, mapping,
                                     as_cells=as_cells)

    return headers, mapping, rows


class RowStream(Iterator[RowItem]):
    """A manifest's numbered rows: canonical column -> text as it is iterated, or, asked
    before any row is read, each row's cells (`cells()`: a tuple in CANONICAL_COLUMNS order,
    what screening reads, without a dict a row)."""

    def __init__(self, start: Callable[[bool], Iterator[list[Any]]]) -> None:
        self._start = start  # as_cells -> the rows a block at a time
        self._rows: Iterator[Any] | None = None

    def __iter__(self) -> Iterator[RowItem]:
        if self._rows is None:
            self._rows = chain.from_iterable(self._start(False))
        return self._rows

    def __next__(self) -> RowItem:
        return next(iter(self))

    def cells(self) -> Iterator[CellsItem]:
        return chain.from_iterable(self.cell_blocks())

    def cell_blocks(self) -> Iterator[list[CellsItem]]:
        """The rows' cells a block (a few thousand rows) at a time."""
        if self._rows is not None:
            raise ValueError("the rows are being read as dicts")
        self._rows = blocks = self._start(True)
        return blocks


def _open_csv(path: Path, overrides: Mapping[str, str]) -> Manifest:
    with path.open("rb") as fh:
        sample = fh.read(_SNIFF_BYTES)
    encoding = detect_encoding(sample)
    text_sample = sample.decode(encoding, errors="replace")
    delimiter = detect_delimiter(text_sample)
    fh_text = path.open("r", encoding=encoding, errors="replace", newline="")
    try:
        headers, mapping, rows = _csv_rows(fh_text, delimiter, path, overrides)
    except ManifestError:
        fh_text.close()
        raise

    def closing_rows(as_cells: bool) -> Iterator[list[Any]]:
        with fh_text:
            yield from rows(as_cells)

    return Manifest(path, "csv", headers, mapping, RowStream(closing_rows), encoding=encoding,
                    delimiter=delimiter)


def _open_xlsx(path: Path, overrides: Mapping[str, str]) -> Manifest:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise ManifestError(path, [Problem(0, "(file)", "", f"not a readable .xlsx: {exc}")]) \
            from exc
    sheet = book.worksheets[0]
    it = sheet.iter_rows(values_only=True)
    first = next(it, ())
    headers = [_cell_text(v) for v in first]
    mapping, problems = match_headers(headers, overrides)
    if problems:
        book.close()
        raise ManifestError(path, problems)

    def records() -> Iterator[tuple[int, list[str] | Problem]]:
        row_no = 0
        try:
            for values in it:
                cells = [_cell_text(v) for v in values]
                if not any(cells):
                    continue
                row_no += 1
                yield row_no, cells
        finally:
            book.close()

    return Manifest(path, "xlsx", headers, mapping, _canonical_rows(records(), headers, mapping),
                    notes=[f"sheet {sheet.title!r}"])


def _records_from_objects(
    objects: Iterator[tuple[int, Any]], overrides: Mapping[str, str], path: Path, fmt: str,
    first_keys: list[str]
) -> Manifest:
    mapping, problems = match_headers(first_keys, overrides)
    if problems:
        raise ManifestError(path, problems)

    def rows() -> Iterator[RowItem]:
        for row_no, obj in objects:
            if isinstance(obj, Problem):
                yield row_no, obj
            elif not isinstance(obj, dict):
                yield row_no, Problem(row_no, "(record)", _cell_text(obj)[:40],
                                      "expected a JSON object with column names as keys")
            else:
                yield row_no, {canon: _cell_text(obj.get(h)) for canon, h in mapping.items()}

    return Manifest(path, fmt, first_keys, mapping, rows())


def _open_json(path: Path, overrides: Mapping[str, str]) -> Manifest:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(path, [Problem(0, "(file)", "", f"not valid JSON: {exc}")]) from exc
    if isinstance(data, dict):
        # {"shipments": [...]} or any single list-valued key
        lists = [v for v in data.values() if isinstance(v, list)]
        data = data.get("shipments", lists[0] if len(lists) == 1 else None)
    if not isinstance(data, list):
        raise ManifestError(path, [Problem(0, "(file)", "", "expected a list of shipment "
                                           "objects, or {\"shipments\": [...]}")])
    keys: list[str] = []
    for obj in data:
        if isinstance(obj, dict):
            keys.extend(k for k in obj if k not in keys)
    return _records_from_objects(iter(enumerate(data, start=1)), overrides, path, "json", keys)


def _open_jsonl(path: Path, overrides: Mapping[str, str]) -> Manifest:
    fh = path.open("r", encoding="utf-8-sig", errors="replace")

    def parsed() -> Iterator[tuple[int, Any]]:
        with fh:
            row_no = 0
            for line in fh:
                if not line.strip():
                    continue
                row_no += 1
                try:
                    yield row_no, json.loads(line)
                except json.JSONDecodeError as exc:
                    yield row_no, Problem(row_no, "(line)", line.strip()[:40],
                                          f"not valid JSON: {exc.msg} at character {exc.pos}")

    it = parsed()
    head = [x for _, x in zip(range(1000), it, strict=False)]
    keys: list[str] = []
    for _, obj in head:
        if isinstance(obj, dict):
            keys.extend(k for k in obj if k not in keys)
    import itertools

    return _records_from_objects(itertools.chain(head, it), overrides, path, "jsonl", keys)


def _open_parquet(path: Path, overrides: Mapping[str, str]) -> Manifest:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid and OSError subclasses
        raise ManifestError(path, [Problem(0, "(file)", "", f"not a readable Parquet file: "
                                           f"{exc}")]) from exc
    names = list(pf.schema_arrow.names)

    def objects() -> Iterator[tuple[int, Any]]:
        row_no = 0
        for batch in pf.iter_batches(batch_size=65536):
            for obj in batch.to_pylist():
                row_no += 1
                yield row_no, obj

    return _records_from_objects(objects(), overrides, path, "parquet", names)


_OPENERS = {
    ".csv": _open_csv, ".tsv": _open_csv, ".txt": _open_csv,
    ".xlsx": _open_xlsx, ".xlsm": _open_xlsx,
    ".json": _open_json, ".jsonl": _open_jsonl, ".ndjson": _open_jsonl,
    ".parquet": _open_parquet, ".pq": _open_parquet,
}


def open_manifest(path: str | Path, column_map: Mapping[str, str] | None = None) -> Manifest:
    """Open a manifest by its extension; raise ManifestError listing every file-level problem."""
    p = Path(path)
    if not p.is_file():
        raise ManifestError(p, [Problem(0, "(file)", str(p), "no such file")])
    opener = _OPENERS.get(p.suffix.lower())
    if opener is None:
        raise ManifestError(p, [Problem(0, "(file)", p.suffix, "unknown manifest format; use "
                                        ".csv, .tsv, .xlsx, .json, .jsonl or .parquet")])
    return opener(p, column_map or {})


def manifest_from_records(records: Sequence[Mapping[str, Any]],
                          column_map: Mapping[str, str] | None = None,
                          source: str = "<records>") -> Manifest:
    """Shipments already in memory (dicts keyed by header) as a Manifest."""
    keys: list[str] = []
    for obj in records:
        if isinstance(obj, Mapping):
            keys.extend(str(k) for k in obj if k not in keys)
    items = ((n, dict(obj) if isinstance(obj, Mapping) else obj)
             for n, obj in enumerate(records, start=1))
    return _records_from_objects(items, column_map or {}, Path(source), "records", keys)


def read_text_rows(text: str, column_map: Mapping[str, str] | None = None) -> list[RowItem]:
    """Rows of a CSV given as text (small inputs, tests, the web upload)."""
    delimiter = detect_delimiter(text[:_SNIFF_BYTES])
    _, _, rows = _csv_rows(io.StringIO(text, newline=""), delimiter, Path("<text>"),
                           column_map or {})
    return list(chain.from_iterable(rows(False)))
