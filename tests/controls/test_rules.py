"""Family rules: every SMARTS compiles, matches its parent, and means what its label says."""

from __future__ import annotations

import datetime as dt

import pytest
from rdkit import Chem

from precursorwatch.chem.structure import from_smiles, to_mol
from precursorwatch.controls.load import load_controls
from precursorwatch.controls.model import StructureRule

CONTROLS = load_controls()
RULES = CONTROLS.rules
FAMILIES = {r.id: r for r in RULES if r.kind == "family"}


def matches(rule: StructureRule, smiles: str) -> bool:
    """Match the standardised parent, as detection does (salts stripped first)."""
    mol = to_mol(from_smiles(smiles))
    pattern = Chem.MolFromSmarts(rule.smarts)
    excludes = [Chem.MolFromSmarts(x) for x in rule.exclude]
    return mol.HasSubstructMatch(pattern) and not any(mol.HasSubstructMatch(x) for x in excludes)


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_every_smarts_compiles_and_matches_its_parent(rule: StructureRule) -> None:
    assert Chem.MolFromSmarts(rule.smarts) is not None
    assert all(Chem.MolFromSmarts(x) is not None for x in rule.exclude)
    if rule.parent:
        assert matches(rule, CONTROLS.substance(rule.parent).smiles), rule.id


# Named structures used in the case tables below.
S = {
    "4-AP": "c1ccc(NC2CCNCC2)cc1",
    "4-AP dihydrochloride": "c1ccc(NC2CCNCC2)cc1.Cl.Cl",
    "1-boc-4-AP": "CC(C)(C)OC(=O)N1CCC(Nc2ccccc2)CC1",
    "norfentanyl": "CCC(=O)N(c1ccccc1)C1CCNCC1",
    "norfentanyl hydrochloride": "CCC(=O)N(c1ccccc1)C1CCNCC1.Cl",
    "1-propionyl-4-AP": "CCC(=O)N1CCC(Nc2ccccc2)CC1",
    "N-acetyl-4-AP (acetyl norfentanyl)": "CC(=O)N(c1ccccc1)C1CCNCC1",
    "1-boc-norfentanyl": "CCC(=O)N(c1ccccc1)C1CCN(C(=O)OC(C)(C)C)CC1",
    "1-cbz-4-AP": "O=C(OCc1ccccc1)N1CCC(Nc2ccccc2)CC1",
    "4-fluoro anilino-1-boc-piperidine": "CC(C)(C)OC(=O)N1CCC(Nc2ccc(F)cc2)CC1",
    "4-bromo anilino-1-boc-piperidine": "CC(C)(C)OC(=O)N1CCC(Nc2ccc(Br)cc2)CC1",
    "N-(4-fluorophenyl)-4-piperidinamine": "Fc1ccc(NC2CCNCC2)cc1",
    "2-chloro-4-AP": "Clc1ccccc1NC1CCNCC1",
    "ANPP": "c1ccc(CCN2CCC(Nc3ccccc3)CC2)cc1",
    "benzylfentanyl": "CCC(=O)N(c1ccccc1)C1CCN(Cc2ccccc2)CC1",
    "fentanyl": "CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1",
    "para-fluorofentanyl": "CCC(=O)N(c1ccc(F)cc1)C1CCN(CCc2ccccc2)CC1",
    "thiofentanyl": "CCC(=O)N(c1ccccc1)C1CCN(CCc2cccs2)CC1",
    "4-methyl-4-AP (not a halide)": "Cc1ccc(NC2CCNCC2)cc1",
    "4-aminopyridine": "Nc1ccncc1",
    "4-aminophenol": "Nc1ccc(O)cc1",
    "1-phenylpiperazine": "C1CN(CCN1)c1ccccc1",
    "2-piperidone": "O=C1CCCCN1",
    "piperidine": "C1CCNCC1",
    "haloperidol": "OC1(CCN(CCCC(=O)c2ccc(F)cc2)CC1)c1ccc(Cl)cc1",
    "loperamide": "CN(C)C(=O)C(CCN1CCC(O)(CC1)c1ccc(Cl)cc1)(c1ccccc1)c1ccccc1",
    "donepezil": "COc1cc2CC(CC3CCN(Cc4ccccc4)CC3)C(=O)c2cc1OC",
    "aniline": "Nc1ccccc1",
    "4-piperidone": "O=C1CCNCC1",
    "4-piperidone hydrochloride monohydrate (gem-diol)": "OC1(O)CCNCC1.Cl",
    "1-boc-4-piperidone": "CC(C)(C)OC(=O)N1CCC(=O)CC1",
    "1-acetyl-4-piperidone": "CC(=O)N1CCC(=O)CC1",
    "4-piperidone ethylene ketal": "C1COC2(O1)CCNCC2",
    "4-piperidone dimethyl acetal": "COC1(OC)CCNCC1",
    "1-boc-4-piperidone ethylene ketal": "CC(C)(C)OC(=O)N1CCC2(CC1)OCCO2",
    "NPP": "O=C1CCN(CCc2ccccc2)CC1",
    "1-benzyl-4-piperidone": "O=C1CCN(Cc2ccccc2)CC1",
    "3-methyl-4-piperidone": "CC1CNCCC1=O",
    "4-piperidinol": "OC1CCNCC1",
    "triacetonamine": "CC1(C)CC(=O)CC(C)(C)N1",
    "1-methyl-4-piperidinol": "CN1CCC(O)CC1",
    "1-ethyl-4-piperidinol": "CCN1CCC(O)CC1",
    "1-benzyl-4-piperidinol": "OC1CCN(Cc2ccccc2)CC1",
    "2,2,6,6-tetramethyl-4-piperidinol": "CC1(C)CC(O)CC(C)(C)N1",
    "1-methyl-4-piperidone": "CN1CCC(=O)CC1",
    "2-methyl-4-piperidone": "CC1CC(=O)CCN1",
    "cyclohexanone": "O=C1CCCCC1",
    "tropinone (bridged)": "CN1C2CCC1CC(=O)C2",
    "BMK glycidic acid": "CC1(C(=O)O)OC1c1ccccc1",
    "BMK ethyl glycidate": "CCOC(=O)C1(C)OC1c1ccccc1",
    "BMK tert-butyl glycidate": "CC(C)(C)OC(=O)C1(C)OC1c1ccccc1",
    "ethyl 3-methyl-3-phenylglycidate (strawberry aldehyde)": "CCOC(=O)C1OC1(C)c1ccccc1",
    "PMK glycidic acid": "CC1(C(=O)O)OC1c1ccc2c(c1)OCO2",
    "PMK ethyl glycidate": "CCOC(=O)C1(C)OC1c1ccc2c(c1)OCO2",
    "PMK propyl glycidate": "CCCOC(=O)C1(C)OC1c1ccc2c(c1)OCO2",
    "P-2-P": "CC(=O)Cc1ccccc1",
    "PMK": "CC(=O)Cc1ccc2c(c1)OCO2",
    "PMK methyl glycidate": "COC(=O)C1(C)OC1c1ccc2c(c1)OCO2",
    "APAAN": "CC(=O)C(C#N)c1ccccc1",
    "APAA": "CC(=O)C(C(N)=O)c1ccccc1",
    "MAPA": "COC(=O)C(C(C)=O)c1ccccc1",
    "acetophenone": "CC(=O)c1ccccc1",
    "phenylacetic acid": "O=C(O)Cc1ccccc1",
    "amphetamine": "CC(N)Cc1ccccc1",
    "acetone": "CC(C)=O",
    "safrole": "C=CCc1ccc2c(c1)OCO2",
    "piperonal": "O=Cc1ccc2c(c1)OCO2",
}

_4AP_FAMILY = ["4-AP", "4-AP dihydrochloride", "1-boc-4-AP", "norfentanyl",
               "norfentanyl hydrochloride", "1-propionyl-4-AP",
               "N-acetyl-4-AP (acetyl norfentanyl)", "1-boc-norfentanyl", "1-cbz-4-AP"]
_4AP_HALIDES = ["4-fluoro anilino-1-boc-piperidine", "4-bromo anilino-1-boc-piperidine",
                "N-(4-fluorophenyl)-4-piperidinamine", "2-chloro-4-AP"]
_UNRELATED = ["4-aminopyridine", "4-aminophenol", "1-phenylpiperazine", "2-piperidone",
              "piperidine", "haloperidol", "loperamide", "donepezil", "aniline", "cyclohexanone"]

CASES: list[tuple[str, str, bool]] = [
    # US List I, 4-AP amides and carbamates (2020): no halides yet
    *[("us-4ap-amides-carbamates", n, True) for n in _4AP_FAMILY],
    *[("us-4ap-amides-carbamates", n, False) for n in
      [*_4AP_HALIDES, *_UNRELATED, "ANPP", "fentanyl", "benzylfentanyl",
       "4-methyl-4-AP (not a halide)"]],
    # US List I, with halides (2023)
    *[("us-4ap-amides-carbamates-halides", n, True) for n in [*_4AP_FAMILY, *_4AP_HALIDES]],
    *[("us-4ap-amides-carbamates-halides", n, False) for n in
      [*_UNRELATED, "ANPP", "fentanyl", "para-fluorofentanyl", "benzylfentanyl",
       "4-methyl-4-AP (not a halide)"]],
    # US List I, 4-piperidone family
    *[("us-4-piperidone-family", n, True) for n in
      ["4-piperidone", "4-piperidone hydrochloride monohydrate (gem-diol)", "1-boc-4-piperidone",
       "1-acetyl-4-piperidone", "4-piperidone ethylene ketal", "4-piperidone dimethyl acetal",
       "1-boc-4-piperidone ethylene ketal"]],
    *[("us-4-piperidone-family", n, False) for n in
      [*_UNRELATED, "NPP", "1-benzyl-4-piperidone", "3-methyl-4-piperidone", "4-piperidinol",
       "4-AP", "1-boc-4-AP"]],
    # Canada item 31: derivatives and analogues of 4-AP, not the finished opioids
    *[("ca-item-31-4ap-derivatives", n, True) for n in
      [*_4AP_FAMILY, *_4AP_HALIDES, "ANPP", "benzylfentanyl", "4-methyl-4-AP (not a halide)"]],
    *[("ca-item-31-4ap-derivatives", n, False) for n in
      [*_UNRELATED, "fentanyl", "para-fluorofentanyl", "thiofentanyl", "4-piperidone", "NPP"]],
    # Canada item 28 (2024): derivatives and analogues of 4-piperidone
    *[("ca-item-28-4-piperidone-derivatives", n, True) for n in
      ["4-piperidone", "4-piperidone hydrochloride monohydrate (gem-diol)", "1-boc-4-piperidone",
       "1-benzyl-4-piperidone", "3-methyl-4-piperidone", "NPP", "4-piperidone ethylene ketal",
       "1-boc-4-piperidone ethylene ketal", "1-methyl-4-piperidone", "2-methyl-4-piperidone"]],
    *[("ca-item-28-4-piperidone-derivatives", n, False) for n in
      [*_UNRELATED, "4-piperidinol", "tropinone (bridged)", "4-AP", "1-boc-4-AP", "triacetonamine",
       "1-methyl-4-piperidinol", "1-ethyl-4-piperidinol", "1-benzyl-4-piperidinol",
       "2,2,6,6-tetramethyl-4-piperidinol"]],
    # Canada items 13 and 10 (2019): P-2-P and PMK, derivatives and analogues
    *[("ca-item-13-p2p-derivatives", n, True) for n in
      ["P-2-P", "APAAN", "APAA", "MAPA", "BMK glycidic acid", "BMK ethyl glycidate",
       "BMK tert-butyl glycidate", "PMK"]],
    *[("ca-item-13-p2p-derivatives", n, False) for n in
      ["ethyl 3-methyl-3-phenylglycidate (strawberry aldehyde)", "acetophenone",
       "phenylacetic acid", "amphetamine", "acetone", *_UNRELATED]],
    *[("ca-item-10-pmk-derivatives", n, True) for n in
      ["PMK", "PMK glycidic acid", "PMK ethyl glycidate", "PMK methyl glycidate"]],
    *[("ca-item-10-pmk-derivatives", n, False) for n in
      ["P-2-P", "BMK ethyl glycidate", "safrole", "piperonal", "APAAN", *_UNRELATED]],
    # UN Table I glycidates
    *[("un-bmk-glycidates", n, True) for n in
      ["BMK glycidic acid", "BMK ethyl glycidate", "BMK tert-butyl glycidate"]],
    *[("un-bmk-glycidates", n, False) for n in
      ["ethyl 3-methyl-3-phenylglycidate (strawberry aldehyde)", "P-2-P", "PMK ethyl glycidate",
       "PMK glycidic acid"]],
    *[("un-pmk-glycidates", n, True) for n in
      ["PMK glycidic acid", "PMK ethyl glycidate", "PMK propyl glycidate"]],
    *[("un-pmk-glycidates", n, False) for n in
      ["BMK ethyl glycidate", "PMK", "P-2-P",
       "ethyl 3-methyl-3-phenylglycidate (strawberry aldehyde)"]],
]


@pytest.mark.parametrize(("rule_id", "name", "expected"), CASES,
                         ids=[f"{r}:{n}:{e}" for r, n, e in CASES])
def test_family_rule_cases(rule_id: str, name: str, expected: bool) -> None:
    assert matches(FAMILIES[rule_id], S[name]) is expected


def test_us_halides_only_from_30_november_2023() -> None:
    fluoro = S["4-fluoro anilino-1-boc-piperidine"]

    def covered(on: dt.date) -> bool:
        return any(r.in_force(on) and r.jurisdiction == "US" and matches(r, fluoro)
                   for r in FAMILIES.values())

    assert not covered(dt.date(2023, 11, 29))
    assert covered(dt.date(2023, 11, 30))


def test_us_4ap_family_is_continuous_across_the_halides_change() -> None:
    old = FAMILIES["us-4ap-amides-carbamates"]
    new = FAMILIES["us-4ap-amides-carbamates-halides"]
    assert old.until == new.since


def test_canada_order_then_regulation_without_gap() -> None:
    order = FAMILIES["ca-mo-2022-185-4ap-derivatives"]
    item = FAMILIES["ca-item-31-4ap-derivatives"]
    assert order.until == item.since == dt.date(2023, 8, 30)
    assert order.smarts == item.smarts


def test_labels_state_the_listing_in_words() -> None:
    assert FAMILIES["us-4ap-amides-carbamates-halides"].label == (
        "4-AP (N-phenylpiperidin-4-amine), its amides, its carbamates, its halides, its salts, "
        "and any combination thereof")
    assert "acetals" in FAMILIES["us-4-piperidone-family"].label
