"""Transformations as data, their application, and the designer routes they give."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from designer_controls import small_controls
from rdkit import Chem

from precursorwatch.chem.structure import from_smiles
from precursorwatch.detect.designer import find_designer
from precursorwatch.detect.transform import (
    TransformationError,
    apply_transformations,
    load_transformations,
    parse_transformations,
)

TODAY = dt.date(2026, 11, 23)
BOC_NORFENTANYL = "CCC(=O)N(c1ccccc1)C1CCN(C(=O)OC(C)(C)C)CC1"


def _key(smiles: str) -> str:
    return str(Chem.MolToInchiKey(Chem.MolFromSmiles(smiles)))


def test_bundled_transformations_are_cited_and_named() -> None:
    found = load_transformations()
    names = {t.name for t in found}
    for wanted in ("Boc deprotection", "Cbz hydrogenolysis", "N-debenzylation",
                   "ketal/acetal hydrolysis", "oxidation of a secondary alcohol to a ketone",
                   "amide hydrolysis", "reductive amination with aniline", "N-phenethylation",
                   "N-propionylation", "Fmoc deprotection", "N-deacetylation",
                   "trifluoroacetyl deprotection", "imine (ylidene) reduction"):
        assert wanted in names
    assert len({t.id for t in found}) == len(found)
    for t in found:
        assert t.source and t.label and ">>" in t.smarts
        # Only which chemical leads to which: no conditions or procedures in the data.
        for word in ("°C", "reflux", "stir", "yield", "equiv"):
            assert word not in t.source and word not in t.label


def test_no_dehalogenation_step() -> None:
    # Ring-halogenated analogues are for class rules and similarity, never a "step".
    para_fluoro_ap = from_smiles("Fc1ccc(NC2CCNCC2)cc1")
    products = apply_transformations(para_fluoro_ap)
    assert all("F" in p.structure.smiles for p in products)


@pytest.mark.parametrize(("smiles", "step", "product"), [
    (BOC_NORFENTANYL, "Boc deprotection", "CCC(=O)N(c1ccccc1)C1CCNCC1"),
    ("C1CC2(CCN1)OCCO2", "ketal/acetal hydrolysis", "O=C1CCNCC1"),
    ("OC1CCN(CCc2ccccc2)CC1", "oxidation of a secondary alcohol to a ketone",
     "O=C1CCN(CCc2ccccc2)CC1"),
    ("O=C1CCN(CCc2ccccc2)CC1", "reductive amination with aniline",
     "c1ccc(CCN2CCC(Nc3ccccc3)CC2)cc1"),
    ("c1ccc(CCN2CCC(Nc3ccccc3)CC2)cc1", "N-propionylation",
     "CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1"),
    ("CCC(=O)N(c1ccccc1)C1CCNCC1", "N-phenethylation", "CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1"),
    ("CCC(=O)N(c1ccccc1)C1CCNCC1", "amide hydrolysis", "c1ccc(NC2CCNCC2)cc1"),
    ("C(Cc1ccccc1)N1CCC(=Nc2ccccc2)CC1", "imine (ylidene) reduction",
     "c1ccc(CCN2CCC(Nc3ccccc3)CC2)cc1"),
])
def test_one_step_products(smiles: str, step: str, product: str) -> None:
    got = {(p.transformation.name, p.structure.inchikey)
           for p in apply_transformations(from_smiles(smiles))}
    assert (step, _key(product)) in got


def test_template_prescreen_means_no_products_for_unrelated_molecules() -> None:
    assert apply_transformations(from_smiles("c1ccccc1")) == ()
    assert apply_transformations(from_smiles("CCO")) == ()


def test_route_is_data_and_reads_like_a_chemist_wrote_it() -> None:
    structure = from_smiles(BOC_NORFENTANYL)
    matches = find_designer(structure, small_controls(), as_of=TODAY, jurisdictions=["UN"],
                            name="tert-butyl 4-(N-phenylpropanamido)piperidine-1-carboxylate")
    boc = [m for m in matches if m.steps and m.steps[0].transformation == "Boc deprotection"]
    assert len(boc) == 1
    m = boc[0]
    assert m.basis == "transformation" and m.effect == "control"
    assert (m.substance, m.jurisdiction, m.list, m.since) == (
        "norfentanyl", "UN", "1988 Convention Table I", "2022-11-23")
    assert m.explanation == (
        "tert-butyl 4-(N-phenylpropanamido)piperidine-1-carboxylate --[Boc deprotection]--> "
        "norfentanyl (UN 1988 Convention Table I since 2022-11-23)")
    step = m.steps[0]
    assert step.reactant_smiles == structure.smiles
    assert step.product_name == "norfentanyl"
    assert step.product_inchikey == _key("CCC(=O)N(c1ccccc1)C1CCNCC1")
    assert "CND 67" in m.source  # the step's citation travels with the evidence


def test_dates_and_jurisdictions_are_respected() -> None:
    ketal = from_smiles("C1CC2(CCN1)OCCO2")  # -> 4-piperidone, UN Table I from 2024-12-03
    controls = small_controls()
    assert find_designer(ketal, controls, as_of=dt.date(2024, 1, 1), jurisdictions=["UN"]) == []
    later = find_designer(ketal, controls, as_of=dt.date(2025, 1, 1), jurisdictions=["UN"])
    assert [m.substance for m in later] == ["4-piperidone"]
    assert find_designer(ketal, controls, as_of=TODAY, jurisdictions=["MX"]) == []


def test_depth_two_gives_two_steps_and_depth_one_does_not() -> None:
    structure = from_smiles("O=C1CCN(CCc2cccs2)CC1")  # thienyl NPP: no listed product in one step
    controls = small_controls()
    assert find_designer(structure, controls, as_of=TODAY, jurisdictions=["US"], depth=1) == []
    two = find_designer(structure, controls, as_of=TODAY, jurisdictions=["US"], depth=2)
    assert two and all(m.steps is not None and len(m.steps) == 2 for m in two)
    assert two[0].steps is not None
    assert two[0].steps[1].reactant_smiles == two[0].steps[0].product_smiles
    assert find_designer(structure, controls, as_of=TODAY, depth=0) == []
    with pytest.raises(ValueError, match="depth"):
        find_designer(structure, controls, as_of=TODAY, depth=4)


def test_watch_only_products_make_nothing_designer() -> None:
    # Acetanilide hydrolyses to aniline, which is only watched: no route.
    assert find_designer(from_smiles("CC(=O)Nc1ccccc1"), small_controls(), as_of=TODAY) == []


@pytest.mark.parametrize(("text", "message"), [
    ("- {id: a, name: A, label: a, source: s}", "missing field 'smarts'"),
    ("- {id: a, name: A, label: a, smarts: 'C>>CC(', source: s}", "bad reaction SMARTS"),
    ("- {id: a, name: A, label: a, smarts: 'C.N>>CN', source: s}", "exactly one reactant"),
    ("- {id: a, name: A, label: a, smarts: 'C>>O', source: s}\n"
     "- {id: a, name: B, label: b, smarts: 'C>>O', source: s}", "duplicate id 'a'"),
    ("{id: a}", "expected a list"),
])
def test_malformed_transformations_name_the_entry(text: str, message: str) -> None:
    with pytest.raises(TransformationError, match=message):
        parse_transformations(yaml.safe_load(text), origin="t.yaml")
