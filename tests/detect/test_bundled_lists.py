"""The same case tables over the bundled control lists (load_controls): every masked or analogue
structure is caught (the lists' family rules may make it `controlled` rather than `designer`),
every look-alike stays clear."""

from __future__ import annotations

import datetime as dt

import pytest
from cases_designer import CAUGHT, CLEAR
from rdkit import Chem

from precursorwatch.chem.structure import from_smiles
from precursorwatch.controls.load import load_controls
from precursorwatch.controls.model import ControlSet
from precursorwatch.detect.designer import fentanyl_targets, find_designer, has_route_core
from precursorwatch.detect.scan import assess_structure

TODAY = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def controls() -> ControlSet:
    return load_controls()


@pytest.mark.parametrize(("name", "smiles", "expected", "jurisdictions", "depth"), CAUGHT,
                         ids=[c[0] for c in CAUGHT])
def test_caught_over_bundled_lists(controls: ControlSet, name: str, smiles: str, expected: str,
                                   jurisdictions: tuple[str, ...] | None, depth: int) -> None:
    assessment = assess_structure(from_smiles(smiles), controls, as_of=TODAY,
                                  jurisdictions=jurisdictions, depth=depth)
    assert assessment.verdict in ("controlled", "designer", "watch"), name
    if expected.startswith("class:"):
        assert expected.removeprefix("class:") in {m.rule for m in assessment.matches}
    if expected.startswith("transformation:"):
        # Family rules may already make it controlled; the route is still found as evidence.
        routes = find_designer(from_smiles(smiles), controls, as_of=TODAY,
                               jurisdictions=jurisdictions, depth=depth)
        assert routes and all(m.basis == "transformation" and m.steps for m in routes)


@pytest.mark.parametrize(("name", "smiles"), CLEAR, ids=[c[0] for c in CLEAR])
def test_look_alikes_clear_over_bundled_lists(controls: ControlSet, name: str,
                                              smiles: str) -> None:
    assessment = assess_structure(from_smiles(smiles), controls, as_of=TODAY, depth=2)
    assert assessment.verdict == "clear", [m.explanation for m in assessment.matches]


def test_routes_only_to_fentanyl_targets(controls: ControlSet) -> None:
    targets = fentanyl_targets(controls)
    assert {"N-phenethyl-4-piperidone", "4-anilinopiperidine", "4-piperidone"} <= targets.substances
    assert "piperidine" not in targets.substances
    assert "us-frs-e-acyl" in targets.rules and "un-bmk-glycidates" not in targets.rules
    # Piperine hydrolyses to piperidine (UN Table II): chemistry, but no fentanyl route.
    piperine = from_smiles("O=C(/C=C/C=C/c1ccc2OCOc2c1)N1CCCCC1")
    assert find_designer(piperine, controls, as_of=TODAY) == []


def test_every_fentanyl_target_has_the_route_core(controls: ControlSet) -> None:
    """The pruning in find_designer and the scan's fentanyl gate rest on this."""
    targets = fentanyl_targets(controls)
    subs = [s for s in controls.substances if s.name in targets.substances]
    assert len(subs) >= 20
    for sub in subs:
        assert has_route_core(from_smiles(sub.smiles)), sub.name
    # and every structure a fentanyl rule matches in the case tables
    index_rules = {r.id: r for r in controls.rules if r.id in targets.rules}
    for _, smiles, _, _, _ in CAUGHT:
        mol = Chem.MolFromSmiles(smiles)
        if any(mol.HasSubstructMatch(Chem.MolFromSmarts(r.smarts)) for r in index_rules.values()):
            assert has_route_core(from_smiles(smiles)), smiles


def test_an_intermediate_in_the_control_data_is_named_not_drawn(controls: ControlSet) -> None:
    """Before 4-piperidone was listed by the UN, 1-boc-4-piperidone reached 4-AP through it:
    the route names it (it is in the data), while intermediates unknown to it keep SMILES."""
    boc = from_smiles("CC(C)(C)OC(=O)N1CCC(=O)CC1")
    routes = find_designer(boc, controls, as_of=dt.date(2023, 1, 1), jurisdictions=["UN"],
                           depth=2, name="1-boc-4-piperidone")
    via = [m for m in routes if m.substance == "4-anilinopiperidine"]
    assert via and via[0].explanation.startswith(
        "1-boc-4-piperidone --[Boc deprotection]--> 4-piperidone --[reductive amination")
    assert via[0].steps is not None
    assert [s.product_name for s in via[0].steps] == ["4-piperidone", "4-anilinopiperidine"]
    cbz = from_smiles("O=C1CCN(C(=O)OCc2ccccc2)CC1")
    unnamed = [m for m in find_designer(cbz, controls, as_of=TODAY, jurisdictions=["UN"], depth=2)
               if m.steps and len(m.steps) == 2]
    assert unnamed and unnamed[0].steps is not None and unnamed[0].steps[0].product_name == ""
    assert unnamed[0].steps[0].product_smiles in unnamed[0].explanation


# --- The bundled lists as the user asks them: `pwatch check NAME [--as-of DATE] -j JUR`.

def _check(*args: str) -> dict[str, object]:
    import json

    from typer.testing import CliRunner

    from precursorwatch.cli import app

    result = CliRunner().invoke(app, ["check", *args, "--format", "jsonl"])
    assert result.exit_code == 0, result.stderr
    row: dict[str, object] = json.loads(result.stdout.splitlines()[0])
    return row


@pytest.mark.parametrize("args", [
    ("ephedrine", "-j", "US"),  # 21 CFR 1310.02(a) List I
    ("methylamine", "-j", "US"),
    ("safrole", "-j", "US"),
    ("piperidine", "-j", "US"),
    ("fentanyl", "--as-of", "1970-01-01", "-j", "UN"),  # Single Convention since 1964
    ("ephedrine", "--as-of", "2005-06-01", "-j", "CA"),  # Precursor Control Regulations, 2003
    ("acetone", "--as-of", "2005-06-01", "-j", "CA"),  # Class B
    ("4-AP", "--as-of", "2023-01-01", "-j", "UN"),
])
def test_listed_chemicals_are_controlled(args: tuple[str, ...]) -> None:
    assert _check(*args)["verdict"] == "controlled"


def test_a_table_change_is_not_in_force_on_its_decision() -> None:
    # CND 65 decided in March 2022; Table I changes take effect 180 days after notification.
    assert _check("4-AP", "--as-of", "2022-04-01", "-j", "UN")["verdict"] != "controlled"


@pytest.mark.parametrize(("name", "smiles"), [
    ("triacetonamine", "CC1(C)CC(=O)CC(C)(C)N1"),
    ("2,2,6,6-tetramethyl-4-piperidinol", "CC1(C)CC(O)CC(C)(C)N1"),
])
def test_hindered_piperidones_are_not_canadian_4_piperidone_derivatives(
        controls: ControlSet, name: str, smiles: str) -> None:
    assessment = assess_structure(from_smiles(smiles), controls, as_of=TODAY, depth=2)
    assert assessment.verdict == "clear", [m.explanation for m in assessment.matches]


@pytest.mark.parametrize("smiles", [
    "O=C1CCN(Cc2ccccc2)CC1",  # 1-benzyl-4-piperidone, named by Health Canada
    "CC1CNCCC1=O",  # 3-methyl-4-piperidone, named by Health Canada
    "CN1CCC(=O)CC1",  # 1-methyl-4-piperidone
])
def test_canadian_4_piperidone_derivatives_still_controlled(controls: ControlSet,
                                                            smiles: str) -> None:
    assessment = assess_structure(from_smiles(smiles), controls, as_of=TODAY, jurisdictions=["CA"])
    assert assessment.verdict == "controlled"
    assert "ca-item-28-4-piperidone-derivatives" in {m.rule for m in assessment.matches}
