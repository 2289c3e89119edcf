"""Reconciliation of import declarations with notifications, permits and annual requirements:
every flag fires on the sample declarations, and for each a near miss where it must not; bad
lines accounted for; CSV and XLSX; local and Dask engines give the same results; the
command's usage errors."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from precursorwatch.cli import app
from precursorwatch.screen.readers import ManifestError
from precursorwatch.screen.reconcile import (
    Amount,
    Declaration,
    Inputs,
    NotifiedShipment,
    Options,
    PermitView,
    ReconcileResult,
    Substance,
    amount,
    explanations,
    importer_key,
    permit_flags,
    reconcile,
    reconcile_on_dask,
)
from precursorwatch.screen.reconcile_sources import (
    SourceError,
    SubstanceResolver,
    load_requirements,
    open_declarations,
    read_declarations,
)

SAMPLES = Path(__file__).resolve().parents[2] / "precursorwatch" / "samples"
IMPORTS = SAMPLES / "imports.csv"
REQUIREMENTS = SAMPLES / "annual_requirements.yaml"
AS_OF = dt.date(2027, 6, 30)
OPTIONS = Options(window_days=90, as_of=AS_OF)
D = dt.date.fromisoformat


@pytest.fixture(scope="module")
def resolver() -> SubstanceResolver:
    return SubstanceResolver()


def _substance(resolver: SubstanceResolver, identifier: str) -> Substance:
    found = resolver.identifiers([identifier])[0]
    assert found is not None, identifier
    return found


def scenario(resolver: SubstanceResolver) -> Inputs:
    """What MX holds as importer for the sample declarations (the exchange test seeds the same
    through the service): notifications from CN to Quimica Ejemplo SA, and MX's permits."""
    def n(nid: str, substance: str, quantity: float, shipped: str, status: str,
          importer: str = "Quimica Ejemplo SA") -> NotifiedShipment:
        return NotifiedShipment(nid, status, "CN", "Hubei Example Chemical Co.", importer,
                                _substance(resolver, substance), quantity, "kg", D(shipped))

    def p(pid: str, number: str, substance: str, quantity: float, until: str,
          revoked: str | None = None) -> PermitView:
        return PermitView(pid, number, "MX", _substance(resolver, substance), quantity, "kg",
                          "Quimica Ejemplo SA", D("2026-11-23"), D(until),
                          D(revoked) if revoked else None, "licence suspended" if revoked else "")

    return Inputs(
        notifications=(
            n("N1-npp", "NPP", 25, "2026-12-01", "no_objection"),
            n("N2-piperidone", "4-piperidone hydrochloride monohydrate", 60, "2026-12-05",
              "no_objection", importer="Química Ejemplo S.A. de C.V."),
            n("N3-anpp", "ANPP", 5, "2026-12-10", "no_objection"),
            n("N4-4ap", "4-AP", 5, "2027-05-01", "no_objection"),
            n("N5-boc", "1-boc-4-AP", 10, "2026-12-01", "objection"),
        ),
        permits=(
            p("P1", "COFEPRIS-2026-0001", "NPP", 25, "2027-05-22"),
            p("P2", "COFEPRIS-2026-0002", "4-piperidone", 100, "2026-12-15"),
            p("P3", "COFEPRIS-2026-0003", "ANPP", 5, "2027-05-22", revoked="2026-11-23"),
        ),
        requirements=tuple(load_requirements(REQUIREMENTS, resolver)),
    )


def run_file(path: Path, resolver: SubstanceResolver, *, dask: bool = False
             ) -> tuple[list[ReconcileResult], list[ReconcileResult], int]:
    read = read_declarations(open_declarations(path), resolver, default_country="MX")
    inputs = scenario(resolver)
    if dask:
        declared, never = reconcile_on_dask(read.declarations, inputs, OPTIONS, workers=2,
                                            processes=False)
    else:
        declared, never = reconcile(read.declarations, inputs, OPTIONS)
    results = sorted([*declared, *read.bad], key=lambda r: r.row or 0)
    return results, never, read.total


@pytest.fixture(scope="module")
def sample(resolver: SubstanceResolver) -> tuple[dict[str, ReconcileResult],
                                                 list[ReconcileResult]]:
    results, never, total = run_file(IMPORTS, resolver)
    assert total == len(results) == 9
    return {r.id: r for r in results}, never


def _codes(r: ReconcileResult) -> set[str]:
    return {f.code for f in r.flags}


def _flag(r: ReconcileResult, code: str) -> Any:
    return next(f for f in r.flags if f.code == code)


# Each flag on the sample, and the declaration where it fires.
FIRES = [
    ("IMPORT_WITHOUT_NOTIFICATION", "IMP-2026-0005"),  # ANPP, importer never notified
    ("IMPORT_WITHOUT_NOTIFICATION", "IMP-2026-0008"),  # the only notification was objected to
    ("IMPORT_WITHOUT_NOTIFICATION", "IMP-2027-0006"),  # NPP after N1's window closed
    ("QUANTITY_ABOVE_NOTIFIED", "IMP-2027-0003"),  # 10 + 10 + 8 kg against 25 kg notified
    ("PERMIT_EXCEEDED", "IMP-2027-0003"),  # and against the 25 kg permit
    ("PERMIT_REVOKED", "IMP-2026-0005"),
    ("PERMIT_EXPIRED", "IMP-2026-0009"),  # arrived 2026-12-20, valid until 2026-12-15
    ("PERMIT_UNKNOWN", "IMP-2027-0006"),
    ("ABOVE_ANNUAL_REQUIREMENT", "IMP-2026-0002"),  # NPP 20 kg in 2026, 15 kg required
]
# Near misses: the flag must not fire here.
QUIET = [
    ("QUANTITY_ABOVE_NOTIFIED", "IMP-2026-0002"),  # 20 of 25 kg notified
    ("QUANTITY_ABOVE_NOTIFIED", "IMP-2027-0004"),  # 10 kg + 50,000 g = exactly the 60 kg
    ("IMPORT_WITHOUT_NOTIFICATION", "IMP-2027-0004"),  # arrived on the window's last day
    ("IMPORT_WITHOUT_NOTIFICATION", "IMP-2026-0007"),  # citric acid is not controlled
    ("IMPORT_WITHOUT_NOTIFICATION", "IMP-2026-0001"),  # "NPP" vs the notification's NPP
    ("IMPORT_WITHOUT_NOTIFICATION", "IMP-2026-0002"),  # its CAS number
    ("IMPORT_WITHOUT_NOTIFICATION", "IMP-2027-0003"),  # its SMILES, in grams
    ("PERMIT_EXCEEDED", "IMP-2026-0002"),  # 20 of 25 kg permitted
    ("PERMIT_EXPIRED", "IMP-2027-0003"),  # inside the permit's validity
    ("ABOVE_ANNUAL_REQUIREMENT", "IMP-2026-0001"),  # 10 of 15 kg
    ("ABOVE_ANNUAL_REQUIREMENT", "IMP-2027-0006"),  # 8 + 5 of 20 kg in 2027
]


@pytest.mark.parametrize(("code", "declaration"), FIRES)
def test_flag_fires(sample: Any, code: str, declaration: str) -> None:
    by_id, _ = sample
    assert code in _codes(by_id[declaration])


@pytest.mark.parametrize(("code", "declaration"), QUIET)
def test_near_miss_stays_quiet(sample: Any, code: str, declaration: str) -> None:
    by_id, _ = sample
    assert code not in _codes(by_id[declaration])


def test_citric_acid_and_matched_imports_carry_no_flag(sample: Any) -> None:
    by_id, _ = sample
    assert by_id["IMP-2026-0007"].flags == ()
    assert by_id["IMP-2026-0001"].flags == ()
    assert by_id["IMP-2026-0001"].notification_id == "N1-npp"
    assert by_id["IMP-2027-0004"].flags == ()
    assert by_id["IMP-2027-0004"].notification_id == "N2-piperidone"


def test_one_substance_whatever_it_is_called(sample: Any) -> None:
    by_id, _ = sample
    keys = {by_id[i].substance.key for i in ("IMP-2026-0001", "IMP-2026-0002", "IMP-2027-0003")}
    assert keys == {"YDJXNYNKKXZBMP-UHFFFAOYSA-N"}
    assert {by_id[i].notification_id for i in ("IMP-2026-0001", "IMP-2026-0002",
                                                 "IMP-2027-0003")} == {"N1-npp"}


def test_quantity_above_notified_says_by_how_much(sample: Any) -> None:
    by_id, _ = sample
    f = _flag(by_id["IMP-2027-0003"], "QUANTITY_ABOVE_NOTIFIED")
    assert f.evidence["notification_id"] == "N1-npp"
    assert f.evidence["cumulative"] == pytest.approx(28)
    assert f.evidence["above_by"] == pytest.approx(3)
    assert f.evidence["window"] == {"from": "2026-12-01", "to": "2027-03-01"}
    assert "28 kg, 3 kg (12%) above the notified 25 kg" in f.detail


def test_permit_evidence(sample: Any) -> None:
    by_id, _ = sample
    exceeded = _flag(by_id["IMP-2027-0003"], "PERMIT_EXCEEDED")
    assert exceeded.evidence["permit_number"] == "COFEPRIS-2026-0001"
    assert exceeded.evidence["above_by"] == pytest.approx(3)
    revoked = _flag(by_id["IMP-2026-0005"], "PERMIT_REVOKED")
    assert revoked.evidence["revoked_on"] == "2026-11-23"
    assert "licence suspended" in revoked.detail
    expired = _flag(by_id["IMP-2026-0009"], "PERMIT_EXPIRED")
    assert "after it expired" in expired.detail
    assert expired.evidence["valid_until"] == "2026-12-15"


def test_import_without_notification_explains(sample: Any) -> None:
    by_id, _ = sample
    assert _flag(by_id["IMP-2026-0005"], "IMPORT_WITHOUT_NOTIFICATION"
                 ).evidence["reason"] == "no_notification"
    objected = _flag(by_id["IMP-2026-0008"], "IMPORT_WITHOUT_NOTIFICATION")
    assert objected.evidence["reason"] == "objection"
    assert objected.evidence["notification_id"] == "N5-boc"
    late = _flag(by_id["IMP-2027-0006"], "IMPORT_WITHOUT_NOTIFICATION")
    assert late.evidence["reason"] == "outside_window"
    assert "2027-03-01" in late.detail


def test_annual_requirement_evidence(sample: Any) -> None:
    by_id, _ = sample
    f = _flag(by_id["IMP-2026-0002"], "ABOVE_ANNUAL_REQUIREMENT")
    assert (f.evidence["country"], f.evidence["year"], f.evidence["requirement"]) == \
        ("MX", 2026, 15)
    assert f.evidence["above_by"] == pytest.approx(5)


def test_notification_never_arrived_once_its_window_closed(sample: Any) -> None:
    _, never = sample
    # N3 (ANPP, window to 2027-03-10) never arrived; N2's import came on the window's last
    # day, N4's window is still open on 2027-06-30, N5 was objected to.
    assert [r.id for r in never] == ["N3-anpp"]
    flag = never[0].flags[0]
    assert flag.code == "NOTIFICATION_NEVER_ARRIVED"
    assert flag.evidence["window"] == {"from": "2026-12-10", "to": "2027-03-10"}
    assert never[0].to_dict()["kind"] == "notification"


def test_window_edge_is_inclusive(resolver: SubstanceResolver) -> None:
    npp = _substance(resolver, "NPP")
    n = NotifiedShipment("N", "no_objection", "CN", "X", "Quimica Ejemplo SA", npp, 10, "kg",
                         D("2026-12-01"))
    def decl(day: str) -> Declaration:
        return Declaration(1, "D", "NPP", npp, "Quimica Ejemplo", "MX", D(day), 1, "kg")
    for day, flagged in (("2026-11-30", True), ("2026-12-01", False), ("2027-03-01", False),
                         ("2027-03-02", True)):
        results, _ = reconcile([decl(day)], Inputs((n,)), OPTIONS)
        assert ("IMPORT_WITHOUT_NOTIFICATION" in _codes(results[0])) is flagged, day


def test_a_revocation_after_arrival_does_not_count(resolver: SubstanceResolver) -> None:
    npp = _substance(resolver, "NPP")
    permit = PermitView("P", "X-1", "MX", npp, 10, "kg", "Q", D("2026-01-01"), D("2026-12-31"),
                        revoked_on=D("2026-06-02"))
    before = Declaration(1, "D1", "NPP", npp, "Q", "MX", D("2026-06-01"), 1, "kg", "X-1")
    after = Declaration(2, "D2", "NPP", npp, "Q", "MX", D("2026-06-02"), 1, "kg", "X-1")
    assert [f.code for f in permit_flags(before, permit, 0, "declaration")[0]] == []
    assert [f.code for f in permit_flags(after, permit, 0, "declaration")[0]] == \
        ["PERMIT_REVOKED"]


def test_an_import_goes_to_the_notification_with_room(resolver: SubstanceResolver) -> None:
    npp = _substance(resolver, "NPP")
    small = NotifiedShipment("A", "no_objection", "CN", "X", "Q", npp, 5, "kg", D("2026-12-01"))
    large = NotifiedShipment("B", "no_objection", "CN", "X", "Q", npp, 50, "kg", D("2026-12-02"))
    d = Declaration(1, "D", "NPP", npp, "Q", "MX", D("2026-12-10"), 20, "kg")
    results, _ = reconcile([d], Inputs((small, large)), OPTIONS)
    assert results[0].notification_id == "B" and results[0].flags == ()


def test_an_importer_misspelt_still_matches(resolver: SubstanceResolver) -> None:
    npp = _substance(resolver, "NPP")
    n = NotifiedShipment("N", "no_objection", "CN", "X", "Quimica Ejemplar Hermanos SA", npp,
                         10, "kg", D("2026-12-01"))
    d = Declaration(1, "D", "NPP", npp, "Quimica Ejemplar Hermannos", "MX", D("2026-12-10"), 1,
                    "kg")
    other = Declaration(2, "E", "NPP", npp, "Distribuidora Norte", "MX", D("2026-12-10"), 1,
                        "kg")
    results, _ = reconcile([d, other], Inputs((n,)), OPTIONS)
    assert results[0].notification_id == "N"
    assert _codes(results[1]) == {"IMPORT_WITHOUT_NOTIFICATION"}


def test_units_convert_and_volumes_stay_volumes() -> None:
    assert amount(50000, "g") == Amount(50.0, "kg")
    assert amount(2, "t") == Amount(2000.0, "kg")
    assert amount(500, "mL") == Amount(0.5, "L")
    assert amount(3, "pcs") is None
    assert importer_key("Química Ejemplo S.A. de C.V.") == importer_key("QUIMICA EJEMPLO SA")


def test_every_flag_is_explained() -> None:
    texts = explanations()
    for code, _ in FIRES:
        assert len(texts[code]) > 30, code
    assert "NOTIFICATION_NEVER_ARRIVED" in texts


# -- reading ---------------------------------------------------------------------------------------
BAD_LINES = [
    "IMP-BAD-1,2026-13-45,NPP,,1,kg,Quimica Ejemplo SA,MX,Hubei,CN,2933.39,sea,",
    "IMP-BAD-2,2026-12-11,NPP,,ten,kg,Quimica Ejemplo SA,MX,Hubei,CN,2933.39,sea,",
    "IMP-BAD-3,2026-12-11,NPP,,1,kg,,MX,Hubei,CN,2933.39,sea,",
    'IMP-BAD-4,2026-12-11,"NPP,,1,kg,Quimica Ejemplo SA,MX,Hubei,CN,2933.39,sea,',
    "IMP-BAD-5,2026-12-11,NPP,,1,kg,Quimica Ejemplo SA,MX,Hubei,CN,2933.39,sea,,x,y",
]


@pytest.fixture
def with_bad_rows(tmp_path: Path) -> Path:
    path = tmp_path / "imports.csv"
    path.write_text(IMPORTS.read_text(encoding="utf-8").rstrip("\n") + "\n"
                    + "\n".join(BAD_LINES) + "\n", encoding="utf-8")
    return path


def test_every_line_is_one_result_and_bad_lines_name_line_and_field(
        with_bad_rows: Path, resolver: SubstanceResolver) -> None:
    results, _, total = run_file(with_bad_rows, resolver)
    assert total == len(results) == 9 + len(BAD_LINES)
    assert [r.row for r in results] == list(range(1, total + 1))
    bad = {r.row: r.flags[0].detail for r in results if "BAD_ROW" in _codes(r)}
    assert sorted(r or 0 for r in bad) == [10, 11, 12, 13, 14]
    assert "row 10, column 'arrival_date'" in bad[10] and "2026-13-45" in bad[10]
    assert "row 11, column 'quantity'" in bad[11] and "not a number" in bad[11]
    assert "row 12, column 'importer'" in bad[12]
    assert "quote" in bad[13]
    assert "fields" in bad[14]
    # the sample's own results do not change
    by_id = {r.id: r for r in results}
    assert "QUANTITY_ABOVE_NOTIFIED" in _codes(by_id["IMP-2027-0003"])


def test_xlsx_gives_the_same_results_as_csv(tmp_path: Path, resolver: SubstanceResolver
                                            ) -> None:
    import csv

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    with IMPORTS.open(encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.reader(fh)):
            cells: list[Any] = list(row)
            if i:  # dates and numbers as Excel keeps them
                cells[1] = dt.datetime.fromisoformat(cells[1])
                cells[4] = float(cells[4])
            sheet.append(cells)
    path = tmp_path / "imports.xlsx"
    book.save(path)
    from_csv, never_csv, _ = run_file(IMPORTS, resolver)
    from_xlsx, never_xlsx, _ = run_file(path, resolver)
    assert [r.to_dict() for r in from_xlsx] == [r.to_dict() for r in from_csv]
    assert [r.to_dict() for r in never_xlsx] == [r.to_dict() for r in never_csv]


def test_dask_gives_the_same_results(with_bad_rows: Path, resolver: SubstanceResolver) -> None:
    local, never_local, _ = run_file(with_bad_rows, resolver)
    on_dask, never_dask, _ = run_file(with_bad_rows, resolver, dask=True)
    assert [r.to_dict() for r in on_dask] == [r.to_dict() for r in local]
    assert [r.to_dict() for r in never_dask] == [r.to_dict() for r in never_local]


def test_a_file_without_a_declaration_id_says_so(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("arrival_date,stuff\n2026-12-01,NPP\n", encoding="utf-8")
    with pytest.raises(ManifestError) as caught:
        open_declarations(path)
    text = "\n".join(str(p) for p in caught.value.problems)
    assert "column 'declaration_id': required column missing (name a column declaration_id)" \
        in text
    assert "column 'description': required column missing (name a column description)" in text


def test_bad_requirements_name_entry_and_field(tmp_path: Path,
                                               resolver: SubstanceResolver) -> None:
    path = tmp_path / "req.yaml"
    path.write_text("country: MX\nrequirements:\n  - {substance: NPP, year: 20x6, quantity: 1}\n"
                    "  - {substance: NPP, year: 2026, quantity: 1, unit: pcs}\n"
                    "  - {substance: not-a-chemical-zzqx, year: 2026, quantity: 1}\n",
                    encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        load_requirements(path, resolver)
    message = str(caught.value)
    assert "requirements[0], field 'year'" in message
    assert "requirements[1], field 'unit'" in message
    assert "not-a-chemical-zzqx" in message


# -- the command's usage errors (the runs against an exchange are in tests/exchange) -----------
runner = CliRunner()


@pytest.mark.parametrize(("args", "says"), [
    (["--imports", str(IMPORTS)], "--exchange URL --key-file F, or --db URL"),
    (["--imports", str(IMPORTS), "--db", "sqlite:///x.db"], "--db needs --authority"),
    (["--imports", str(IMPORTS), "--exchange", "http://127.0.0.1:9"], "needs --key-file"),
    (["--imports", str(IMPORTS), "--db", "sqlite:///x.db", "--authority", "MX", "--fail-on",
      "NOPE"], "unknown flag NOPE"),
    (["--imports", "missing.csv", "--db", "sqlite:///x.db", "--authority", "MX"],
     "no such file"),
    (["--imports", str(IMPORTS), "--db", "sqlite:///x.db", "--authority", "MX", "--as-of",
      "tomorrow"], "--as-of"),
    (["--imports", str(IMPORTS), "--db", "sqlite:///x.db", "--authority", "MX", "-j", "ZZ"],
     "--jurisdiction"),
    (["--imports", str(IMPORTS), "--db", "sqlite:///no-such-exchange.db", "--authority", "MX"],
     "no such SQLite database file"),
])
def test_usage_errors_exit_2_and_say_why(args: list[str], says: str) -> None:
    result = runner.invoke(app, ["reconcile", *args])
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert "Traceback" not in result.output


def iter_jsonl(text: str) -> Iterator[dict[str, Any]]:
    for line in text.splitlines():
        if line.strip():
            yield json.loads(line)


def test_json_lines_are_the_results_objects(with_bad_rows: Path,
                                            resolver: SubstanceResolver) -> None:
    import io

    from precursorwatch.screen.reconcile_command import write_jsonl

    results, never, _ = run_file(with_bad_rows, resolver)
    buffer = io.StringIO()
    write_jsonl([*results, *never], buffer)
    assert list(iter_jsonl(buffer.getvalue())) == \
        [json.loads(json.dumps(r.to_dict())) for r in [*results, *never]]


def test_a_permit_the_notification_cites_is_checked_too(resolver: SubstanceResolver) -> None:
    npp = _substance(resolver, "NPP")
    n = NotifiedShipment("N", "no_objection", "CN", "X", "Q", npp, 10, "kg", D("2026-12-01"),
                         permit_id="6f1c6a55-8d0e-4c8e-9d1a-6a0b9e1f2a3b")
    permit = PermitView("6f1c6a55-8d0e-4c8e-9d1a-6a0b9e1f2a3b", "MX-7", "MX", npp, 10, "kg",
                        "Q", D("2026-01-01"), D("2026-12-05"))
    d = Declaration(1, "D", "NPP", npp, "Q", "MX", D("2026-12-10"), 4, "kg")
    results, _ = reconcile([d], Inputs((n,), (permit,)), OPTIONS)
    expired = _flag(results[0], "PERMIT_EXPIRED")
    assert expired.evidence["cited_by"] == "notification N"
    assert results[0].permit_id == permit.id
