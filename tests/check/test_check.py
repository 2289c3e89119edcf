"""`check` over the bundled control lists: every identifier form on real substances, and
everyday chemicals (look-alikes included) that must come out clear."""

from __future__ import annotations

import datetime as dt

import pytest
from rdkit import Chem

from precursorwatch.detect.check import Checker, UnknownJurisdiction

TODAY = dt.date(2026, 11, 23)

# The seven fentanyl precursors of UN Table I: structures written out here by hand, so the
# bundled data is checked against an independent statement of each structure.
SEVEN = {
    "npp": ("39742-60-4", "O=C1CCN(CCc2ccccc2)CC1", "N-phenethyl-4-piperidone", "NPP",
            "NPP hydrochloride"),
    "anpp": ("21409-26-7", "c1ccc(CCN2CCC(Nc3ccccc3)CC2)cc1", "4-anilino-N-phenethylpiperidine",
             "4-ANPP", "ANPP HCl"),
    "4-ap": ("23056-29-3", "c1ccc(NC2CCNCC2)cc1", "4-anilinopiperidine", "4-AP",
             "4-AP dihydrochloride"),
    "1-boc-4-ap": ("125541-22-2", "CC(C)(C)OC(=O)N1CCC(Nc2ccccc2)CC1",
                   "tert-butyl 4-anilinopiperidine-1-carboxylate", "1-boc-4-AP", "Boc-4-AP HCl"),
    "norfentanyl": ("1609-66-1", "CCC(=O)N(c1ccccc1)C1CCNCC1",
                    "N-phenyl-N-(piperidin-4-yl)propanamide", "norfentanyl", "norfentanyl oxalate"),
    "4-piperidone": ("41661-47-6", "O=C1CCNCC1", "piperidin-4-one", "4-piperidone",
                     "4-piperidone hydrochloride monohydrate"),
    "1-boc-4-piperidone": ("79099-07-3", "CC(C)(C)OC(=O)N1CCC(=O)CC1",
                           "tert-butyl 4-oxopiperidine-1-carboxylate", "N-Boc-4-piperidone",
                           "1-Boc-4-piperidone hydrochloride"),
}


@pytest.fixture(scope="module")
def checker() -> Checker:
    return Checker.default()


def _key(smiles: str) -> str:
    return str(Chem.MolToInchiKey(Chem.MolFromSmiles(smiles)))


def _forms(cas: str, smiles: str, name: str, abbr: str, salt: str) -> list[tuple[str, str]]:
    inchi = Chem.MolToInchi(Chem.MolFromSmiles(smiles))
    return [(cas, "cas"), (name, None), (abbr, "synonym"), (smiles, "smiles"),
            (inchi, "inchi"), (_key(smiles), "inchikey"), (salt, "synonym")]


CASES = [(sid, ident, how) for sid, row in SEVEN.items() for ident, how in _forms(*row)]


@pytest.mark.parametrize(("sid", "identifier", "how"), CASES,
                         ids=[f"{c[0]}:{c[1][:30]}" for c in CASES])
def test_fentanyl_precursors_in_every_form(checker: Checker, sid: str, identifier: str,
                                           how: str | None) -> None:
    v = checker.check(identifier, as_of=TODAY)
    assert v.verdict == "controlled", v
    if how is not None:
        assert v.resolved_by == how
    assert v.inchikey == _key(SEVEN[sid][1])
    un = [m for m in v.matches if m.jurisdiction == "UN" and m.basis in {"identity", "salt"}]
    assert un, v.matches
    assert "Table I" in un[0].list
    assert un[0].source.startswith("http")


@pytest.mark.parametrize("sid", list(SEVEN))
def test_salt_forms_say_salt(checker: Checker, sid: str) -> None:
    v = checker.check(SEVEN[sid][4], as_of=TODAY)
    assert any(m.basis == "salt" for m in v.matches), v.matches


def test_salt_as_smiles_says_salt(checker: Checker) -> None:
    v = checker.check("O=C1CCNCC1.Cl.O", as_of=TODAY)
    assert v.verdict == "controlled"
    assert {m.basis for m in v.matches if m.jurisdiction == "UN"} == {"salt"}
    assert "hydrochloride" in v.matches[0].explanation


def test_wrong_check_digit_is_reported_never_matched(checker: Checker) -> None:
    v = checker.check("1609-66-5")
    assert v.verdict == "unresolved"
    assert v.reason is not None and "wrong check digit" in v.reason


@pytest.mark.parametrize(
    "identifier",
    ["ephedrine", "pseudoephedrine hydrochloride", "phenylacetone", "safrole", "acetic anhydride",
     "potassium permanganate", "lysergic acid", "piperonal", "acetone", "toluene", "piperidine",
     "anthranilic acid", "phenylacetic acid", "methyl ethyl ketone"],
)
def test_other_table_i_and_ii_substances(checker: Checker, identifier: str) -> None:
    v = checker.check(identifier, as_of=TODAY)
    assert v.verdict == "controlled", v
    assert any(m.jurisdiction == "UN" for m in v.matches)


@pytest.mark.parametrize(
    "identifier",
    ["4-aminopyridine", "4-aminophenol", "2-piperidone", "1-phenylpiperazine", "water", "ethanol",
     "caffeine", "paracetamol", "haloperidol", "loperamide", "donepezil", "risperidone",
     "4-methylpiperidine", "isonipecotic acid", "glucose", "sodium chloride", "504-24-5",
     "Nc1ccncc1", "ethyl acetate", "2-methylpropan-1-ol", "lidocaine"],
)
def test_everyday_chemicals_and_look_alikes_are_clear(checker: Checker, identifier: str) -> None:
    v = checker.check(identifier, as_of=TODAY)
    assert v.verdict == "clear", v


def test_ambiguous_abbreviation_says_so(checker: Checker) -> None:
    v = checker.check("4-AP", as_of=TODAY)
    assert v.verdict == "controlled"
    assert any("4-aminopyridine" in n and "ambiguous" in n for n in v.notes)


def test_as_of_before_listing(checker: Checker) -> None:
    v = checker.check("4-AP", as_of=dt.date(2019, 1, 1), jurisdictions=["UN"])
    assert v.verdict != "controlled" or all(m.jurisdiction != "UN" or m.basis == "class"
                                            for m in v.matches)
    assert not any(m.jurisdiction == "UN" and m.basis == "identity" for m in v.matches)
    assert any("2022" in n and "not in force" in n for n in v.notes)
    later = checker.check("4-AP", as_of=dt.date(2023, 1, 1), jurisdictions=["UN"])
    assert later.verdict == "controlled"


def test_jurisdiction_filter(checker: Checker) -> None:
    v = checker.check("NPP", as_of=TODAY, jurisdictions=["US", "mx"])
    assert v.verdict == "controlled"
    assert {m.jurisdiction for m in v.matches} <= {"US", "MX"}
    with pytest.raises(UnknownJurisdiction, match="'XX'"):
        checker.check("NPP", jurisdictions=["XX"])


def test_stereoisomer_counts_as_the_listed_substance(checker: Checker) -> None:
    # (1S,2S)-pseudoephedrine written with explicit stereo; ephedrine is its diastereomer.
    v = checker.check("C[C@H](NC)[C@@H](O)c1ccccc1", as_of=TODAY, jurisdictions=["UN"])
    assert v.verdict == "controlled"
    assert {m.basis for m in v.matches} & {"identity", "stereoisomer"}


def test_typo_is_fuzzy_and_says_how_close(checker: Checker) -> None:
    v = checker.check("N-phenethyl-4-piperidnone", as_of=TODAY)
    assert v.resolved_by == "fuzzy" and v.verdict == "controlled"
    assert any("similarity" in n for n in v.notes)


def test_batch_of_bad_input_never_stops(checker: Checker) -> None:
    batch = ["NPP", "", "x" * 10_000, "\x00\xff junk", "1609-66-5", "4-piperidone"]
    out = checker.check_batch(batch, as_of=TODAY)
    assert [v.verdict for v in out] == ["controlled", "unresolved", "unresolved", "unresolved",
                                        "unresolved", "controlled"]
    assert all(v.reason for v in out if v.verdict == "unresolved")


def test_designer_verdict_shows_the_step(checker: Checker) -> None:
    # 4-hydroxypiperidine is one oxidation away from 4-piperidone (UN Table I since 2024).
    v = checker.check("4-hydroxypiperidine", as_of=TODAY)
    assert v.verdict == "designer"
    m = v.matches[0]
    assert m.basis == "transformation" and m.steps
    assert "oxidation" in m.steps[0].transformation.lower()
    assert "--[" in m.explanation
    # Before 4-piperidone was listed anywhere it led to nothing listed... except Canada (2016).
    early = checker.check("4-hydroxypiperidine", as_of=dt.date(2015, 1, 1))
    assert early.verdict != "designer"


def test_depth_zero_turns_the_route_search_off(checker: Checker) -> None:
    v = checker.check("4-hydroxypiperidine", as_of=TODAY, depth=0)
    assert v.verdict != "designer"


@pytest.mark.parametrize(("cas", "parent"), [("40064-34-4", "4-piperidone"),
                                             ("990-73-8", "fentanyl")])
def test_cas_of_a_traded_salt_form_says_salt(checker: Checker, cas: str, parent: str) -> None:
    v = checker.check(cas, as_of=TODAY)
    assert v.verdict == "controlled" and v.resolved_by == "cas"
    assert v.cas == cas
    assert all(m.basis == "salt" for m in v.matches if m.substance == parent)
    assert any(m.substance == parent for m in v.matches)


def test_a_batch_decides_as_one_at_a_time() -> None:
    # Structures decided while the batch goes on (more than one naming step's worth), names
    # left for OPSIN and for typo matching, salts and mixtures: the same verdicts as alone.
    from precursorwatch.chem.structure import from_smiles
    from precursorwatch.chem.vocabulary import default_sources, read_table

    table = [p for p in default_sources() if p.name == "chemical identifiers pubchem small.tsv"]
    smiles = [r.smiles for _, r in zip(range(260), read_table(table[0]), strict=False)]
    batch = [*smiles, "O=C1CCN(CCc2ccccc2)CC1.Cl", "CC(N)C(O)c1ccccc1.OC(=O)CC(O)(CC(=O)O)C(=O)O",
             "1-(2-phenylethyl)piperidin-4-one", "N-phenethyl-4-pipridone", "NPP", smiles[0],
             "CCC(=O)N(c1ccccc1)C1CCN(CCc2ccccc2)CC1", "not a chemical at all"]
    from_smiles.cache_clear()
    together = Checker.default().check_batch(batch, as_of=TODAY)
    from_smiles.cache_clear()
    fresh = Checker(Checker.default().controls)
    alone = [fresh.check(x, as_of=TODAY) for x in batch]
    assert together == alone
    assert together[-1].verdict == "unresolved"
    assert together[-2].verdict == "controlled"
