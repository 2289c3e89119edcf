"""The bundled everyday chemicals: valid CAS numbers, parsable structures that agree with OPSIN."""

import csv
from importlib.resources import files

import pytest

from precursorwatch.chem.cas import parse_cas
from precursorwatch.chem.opsin import names_to_smiles
from precursorwatch.chem.structure import from_smiles

ROWS = list(csv.DictReader(
    (files("precursorwatch.chem") / "data" / "common_chemicals.csv").read_text().splitlines()))


@pytest.mark.parametrize("row", ROWS, ids=[r["ref"] for r in ROWS])
def test_cas_and_structure(row: dict[str, str]) -> None:
    for cas in row["cas"].split("|"):
        assert parse_cas(cas).text == cas
    from_smiles(row["smiles"])


def test_structures_agree_with_opsin_on_the_systematic_name() -> None:
    named = [r for r in ROWS if r["iupac"]]
    assert len(named) > 30
    parsed = names_to_smiles([r["iupac"] for r in named])
    for row, smi in zip(named, parsed, strict=True):
        assert smi is not None, row["iupac"]
        assert from_smiles(smi).skeleton_key == from_smiles(row["smiles"]).skeleton_key, row["ref"]
