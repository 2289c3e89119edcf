"""Manifest readers: formats, encodings, delimiters, header matching, validation problems."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from precursorwatch.screen.columns import match_headers, parse_map_options
from precursorwatch.screen.model import Problem
from precursorwatch.screen.readers import (
    ManifestError,
    detect_delimiter,
    detect_encoding,
    open_manifest,
)
from precursorwatch.screen.validate import parse_row

HEADER_CASES = [
    (["Shipment No", "Goods Description", "HS Code", "Consignee", "Shipper"],
     {"shipment_id": "Shipment No", "description": "Goods Description", "hs_code": "HS Code",
      "consignee_name": "Consignee", "shipper_name": "Shipper"}),
    (["AWB", "Commodity", "HTS", "Importer", "Country of Destination"],
     {"shipment_id": "AWB", "description": "Commodity", "hs_code": "HTS",
      "consignee_name": "Importer", "consignee_country": "Country of Destination"}),
    (["shipment_id", "GOODS_DESCRIPTION", "cas-no", "Payment Method"],
     {"shipment_id": "shipment_id", "description": "GOODS_DESCRIPTION", "cas": "cas-no",
      "payment_method": "Payment Method"}),
]


@pytest.mark.parametrize(("headers", "expected"), HEADER_CASES)
def test_header_variants_are_recognised(headers: list[str], expected: dict[str, str]) -> None:
    mapping, problems = match_headers(headers)
    assert problems == []
    assert mapping == expected


def test_map_override_wins_and_missing_required_is_reported() -> None:
    mapping, problems = match_headers(["Ref", "Item text", "Buyer"],
                                      {"description": "Item text"})
    assert problems == []
    assert mapping["description"] == "Item text"
    assert mapping["shipment_id"] == "Ref"
    _, problems = match_headers(["Foo", "Bar"])
    assert {p.column for p in problems} == {"shipment_id", "description"}
    assert all("--map" in p.message for p in problems)


def test_map_option_parsing_reports_bad_items() -> None:
    mapping, problems = parse_map_options(["description=Item", "nonsense", "colour=Red"])
    assert mapping == {"description": "Item"}
    assert [p.value for p in problems] == ["nonsense", "colour=Red"]


def test_encoding_and_delimiter_detection() -> None:
    assert detect_encoding("id;Beschreibung\n".encode("utf-8-sig")) == "utf-8-sig"
    assert detect_encoding("id,desc\n1,Química\n".encode("cp1252")) == "cp1252"
    assert detect_encoding("id,desc\n1,Química\n".encode()) == "utf-8"
    assert detect_encoding("id,desc\n".encode("utf-16")) == "utf-16"
    assert detect_delimiter("a;b;c\n1;2,5;3\n") == ";"
    assert detect_delimiter("a\tb\n1\t2\n") == "\t"
    assert detect_delimiter("a,b\n1,2\n") == ","


def _rows(path: Path, **kw: object) -> list[tuple[int, object]]:
    return list(open_manifest(path, **kw).rows)  # type: ignore[arg-type]


@pytest.mark.parametrize(("encoding", "delimiter"), [
    ("utf-8-sig", ";"), ("cp1252", ","), ("utf-16", "\t"), ("utf-8", "|")])
def test_csv_any_encoding_and_delimiter(tmp_path: Path, encoding: str, delimiter: str) -> None:
    text = delimiter.join(["Shipment ID", "Goods Description", "Consignee"]) + "\r\n" + \
        delimiter.join(["S1", "Ácido cítrico 25kg", "Química del Pacífico"]) + "\r\n"
    path = tmp_path / "m.csv"
    path.write_bytes(text.encode(encoding))
    rows = _rows(path)
    assert rows == [(1, {"shipment_id": "S1", "description": "Ácido cítrico 25kg",
                         "consignee_name": "Química del Pacífico"})]


def test_xlsx_json_jsonl_parquet_read_the_same(tmp_path: Path) -> None:
    import openpyxl
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [{"Shipment ID": "S1", "Description": "NPP 5kg", "Quantity": 5},
               {"Shipment ID": "S2", "Description": "Cotton T-shirts", "Quantity": 100}]
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(records[0]))
    for r in records:
        sheet.append(list(r.values()))
    book.save(tmp_path / "m.xlsx")
    (tmp_path / "m.json").write_text(json.dumps({"shipments": records}))
    (tmp_path / "m.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    pq.write_table(pa.Table.from_pylist(records), tmp_path / "m.parquet")
    expected = [(1, {"shipment_id": "S1", "description": "NPP 5kg", "quantity": "5"}),
                (2, {"shipment_id": "S2", "description": "Cotton T-shirts", "quantity": "100"})]
    for suffix in ("xlsx", "json", "jsonl", "parquet"):
        assert _rows(tmp_path / f"m.{suffix}") == expected, suffix


def test_broken_lines_become_row_problems(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text('{"id": "S1", "description": "urea"}\n{"id": "S2", "descr\n'
                    '{"id": "S3", "description": "glycine"}\n')
    rows = _rows(path)
    assert [r for r, _ in rows] == [1, 2, 3]
    assert isinstance(rows[1][1], Problem) and "not valid JSON" in rows[1][1].message
    csv_path = tmp_path / "m.csv"
    csv_path.write_text("id,description\nS1,urea\nS2,glycine,extra,fields\n")
    rows = _rows(csv_path)
    assert isinstance(rows[1][1], Problem) and "4 fields" in rows[1][1].message


def test_file_level_problems_are_all_reported(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("Foo,Bar\n1,2\n")
    with pytest.raises(ManifestError) as err:
        open_manifest(path)
    assert len(err.value.problems) == 2
    with pytest.raises(ManifestError, match="unknown manifest format"):
        (tmp_path / "m.pdf").write_text("x")
        open_manifest(tmp_path / "m.pdf")


def test_row_validation_reports_every_problem_with_row_and_column() -> None:
    problems = parse_row(7, {"shipment_id": "S7", "description": "", "date": "2026-13-01",
                             "quantity": "many", "hs_code": "29A3", "mode": "balloon",
                             "declared_value": "-5"})
    assert isinstance(problems, list)
    assert {(p.row, p.column) for p in problems} == {
        (7, "description"), (7, "date"), (7, "quantity"), (7, "hs_code"), (7, "mode"),
        (7, "declared_value")}
    assert "row 7, column 'date'" in str(problems[1])


def test_row_parsing_normalises_values() -> None:
    s = parse_row(1, {"shipment_id": "S1", "description": "NPP  98%", "date": "20.11.2026",
                      "quantity": "4,000", "unit": "g", "hs_code": "2933.37.00",
                      "mode": "DHL Express", "consignee_country": "Mexico",
                      "transit_countries": "Guatemala > us", "declared_value": "$480"})
    assert not isinstance(s, list)
    assert (s.description, s.date.isoformat() if s.date else None) == ("NPP 98%", "2026-11-20")
    assert s.quantity_kg == pytest.approx(4.0)
    assert (s.hs_code, s.mode, s.consignee_country) == ("29333700", "courier", "MX")
    assert s.transit_countries == ("GT", "US")
    assert (s.declared_value, s.currency) == (480.0, "USD")


_VALUES = {  # per column: usual, odd and invalid texts
    "shipment_id": ["S1", "", "A-7"],
    "date": ["2026-11-02", "", "02.11.2026", "2026-13-45", "soon", "2026-11-02T10:00"],
    "description": ["Citric acid 25kg", "", "  NPP   98% ", "4-piperidone HCl"],
    "hs_code": ["2933.39", "", "29-33", "abc", "12"],
    "cas": ["", " 40064-34-4 ", "bad"],
    "quantity": ["25", "", "1,000.5", "-3", "many", "25kg", "2t"],
    "unit": ["kg", "", "L", "Lbs", "g/each"],
    "shipper_name": ["Hubei Chem Co", ""],
    "shipper_country": ["CN", "", "China", "Atlantis"],
    "consignee_name": ["Juan Pérez", ""],
    "consignee_country": ["MX", "mexico", ""],
    "notify_party": ["", "Notify Ltd"],
    "mode": ["sea", "", "DHL Express", "teleport"],
    "transit_countries": ["", "GT;KR", "Guatemala > Korea"],
    "declared_value": ["1200", "", "12.5", "$40", "-5", "lots", "1,200.00 EUR"],
    "currency": ["USD", "", " usd "],
    "payment_method": ["T/T", " Bitcoin ", ""],
}


def test_rows_parsed_a_column_at_a_time_are_those_parsed_one_by_one() -> None:
    """`parse_many` (what screening uses) gives each row what `parse_row` gives: the same
    Shipment or the same problems, for usual, odd and invalid values in every column."""
    import random

    from precursorwatch.screen.model import CANONICAL_COLUMNS
    from precursorwatch.screen.validate import parse_many

    rnd = random.Random(11)
    rows = []
    for n in range(1, 3001):
        raw = {c: rnd.choice(_VALUES.get(c, ["", "x"])) for c in CANONICAL_COLUMNS}
        rows.append((n, tuple(raw[c] for c in CANONICAL_COLUMNS)))
    got = parse_many(rows)
    assert got == [parse_row(n, dict(zip(CANONICAL_COLUMNS, cells, strict=True)))
                   for n, cells in rows]
    assert sum(isinstance(g, list) for g in got) > 1000
    assert sum(not isinstance(g, list) for g in got) > 50
    assert parse_many([]) == []


@pytest.mark.parametrize("header", [
    ",".join(["shipment_id", "date", "description", "hs_code", "cas", "quantity", "unit",
              "shipper_name", "shipper_address", "shipper_country", "consignee_name",
              "consignee_address", "consignee_country", "notify_party", "mode", "origin_port",
              "destination_port", "transit_countries", "declared_value", "currency",
              "payment_method"]),  # every column, in the canonical order
    "Goods,Ref,Extra,Qty,Shipper",  # a few, in another order, with one not screened
    "shipment_id,description",
])
def test_rows_read_as_cells_hold_what_the_rows_as_dicts_hold(tmp_path: Path,
                                                             header: str) -> None:
    from precursorwatch.screen.model import CANONICAL_COLUMNS
    from precursorwatch.screen.readers import RowStream

    width = header.count(",") + 1
    lines = [header]
    for i in range(300):
        cells = [f" v{i}-{j} " for j in range(width)]
        if i % 50 == 7:
            cells = cells[:1]  # short
        elif i % 50 == 9:
            cells = [*cells, "spill"]  # ragged
        elif i % 50 == 11:
            cells[0] = '"open'
        lines.append(",".join(cells))
    path = tmp_path / "m.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    as_dicts = list(open_manifest(path).rows)
    stream = open_manifest(path).rows
    assert isinstance(stream, RowStream)
    as_cells = list(stream.cells())
    assert [n for n, _ in as_cells] == [n for n, _ in as_dicts]
    for (_, got), (_, raw) in zip(as_cells, as_dicts, strict=True):
        if isinstance(raw, Problem):
            assert got == raw
        else:
            assert got == tuple(raw.get(c, "") for c in CANONICAL_COLUMNS)
    reading = open_manifest(path).rows
    next(reading)
    with pytest.raises(ValueError, match="as dicts"):
        reading.cells()  # type: ignore[attr-defined]
