"""Screening goods described in Spanish and Chinese: `pwatch screen` on a real CSV manifest."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from precursorwatch.cli import app

# description -> the listed substance found (None: nothing of concern)
LINES: dict[str, str | None] = {
    "N-苯乙基-4-哌啶酮 25公斤 医药中间体": "N-phenethyl-4-piperidone",
    "4-哌啶酮盐酸盐一水合物": "4-piperidone",
    "去甲芬太尼 样品": "norfentanyl",
    "麻黄碱盐酸盐": "ephedrine",
    "clorhidrato de efedrina grado farmacéutico": "ephedrine",
    "出口盐酸麻黄碱25kg/桶": "ephedrine",
    "anhídrido acético 200 litros": "acetic anhydride",
    "聚乙烯颗粒 25公斤": None,
    "咖啡因 无水": None,
    "cafeína anhidra": None,
    "ropa de algodón": None,
    "塑料玩具": None,
    "二甲苯 200公斤": None,
}
SODIUM_PERMANGANATE = "permanganato de sodio 25 kg"


@pytest.fixture(scope="module")
def screened(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    path: Path = tmp_path_factory.mktemp("manifest") / "manifest.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["shipment_id", "description", "mode", "shipper_country",
                    "consignee_country"])
        for n, description in enumerate([*LINES, SODIUM_PERMANGANATE], 1):
            w.writerow([f"S{n}", description, "sea", "CN", "MX"])
    result = CliRunner().invoke(app, ["screen", str(path), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    return dict(zip([*LINES, SODIUM_PERMANGANATE], rows, strict=True))


@pytest.mark.parametrize("description", [d for d, s in LINES.items() if s])
def test_listed_chemicals_named_in_spanish_or_chinese_are_found(
        screened: dict[str, dict[str, object]], description: str) -> None:
    row = screened[description]
    chemicals = row["chemicals"]
    assert isinstance(chemicals, list)
    found = {c["name"]: c for c in chemicals}
    substance = LINES[description]
    assert substance in found, (description, [c["input"] for c in chemicals])
    chem = found[substance]
    assert chem["verdict"] == "controlled"
    assert chem["language"] in {"es", "zh"}
    assert row["level"] != "none"
    assert any(f["code"] == "CONTROLLED_CHEMICAL" for f in row["flags"])  # type: ignore[attr-defined,index]


def test_salt_words_carry_into_the_evidence(screened: dict[str, dict[str, object]]) -> None:
    chemicals = screened["4-哌啶酮盐酸盐一水合物"]["chemicals"]
    assert isinstance(chemicals, list)
    bases = {m["basis"] for c in chemicals for m in c["matches"]}
    assert "salt" in bases


@pytest.mark.parametrize("description", [d for d, s in LINES.items() if s is None])
def test_ordinary_goods_in_spanish_or_chinese_name_no_listed_chemical(
        screened: dict[str, dict[str, object]], description: str) -> None:
    row = screened[description]
    chemicals = row["chemicals"]
    assert isinstance(chemicals, list)
    assert [c["name"] for c in chemicals if c["verdict"] in {"controlled", "designer"}] == []
    assert row["level"] == "none", (description, row["flags"])


def test_sodium_permanganate_is_not_reported_as_potassium_permanganate(
        screened: dict[str, dict[str, object]]) -> None:
    chemicals = screened[SODIUM_PERMANGANATE]["chemicals"]
    assert isinstance(chemicals, list)
    names = {c["name"] for c in chemicals}
    substances = {m["substance"] for c in chemicals for m in c["matches"]}
    assert "potassium permanganate" not in names | substances
