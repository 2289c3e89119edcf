"""The bundled control data: identifiers valid, structures right, coverage as cited."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from py2opsin import py2opsin
from rdkit import Chem
from rdkit.Chem.rdMolDescriptors import CalcMolFormula

from precursorwatch.chem.cas import CasError, parse_cas
from precursorwatch.chem.structure import from_smiles
from precursorwatch.controls.load import load_controls
from precursorwatch.controls.model import ControlSet, Listing, Substance

CONTROLS: ControlSet = load_controls()
SUBSTANCES: tuple[Substance, ...] = CONTROLS.substances


def _ids(subs: tuple[Substance, ...]) -> list[str]:
    return [s.id for s in subs]


@pytest.mark.parametrize("sub", SUBSTANCES, ids=_ids(SUBSTANCES))
def test_every_cas_has_a_valid_check_digit(sub: Substance) -> None:
    for cas in sub.cas:
        assert parse_cas(cas).text == cas


@pytest.mark.parametrize("wrong", ["1609-66-5", "23056-29-9"])
def test_known_wrong_cas_from_transcriptions_are_rejected(wrong: str) -> None:
    # Facts file, section 7: norfentanyl is 1609-66-1 and 4-AP 23056-29-3.
    with pytest.raises(CasError, match="check digit"):
        parse_cas(wrong)
    assert all(wrong not in s.cas for s in SUBSTANCES)


def test_corrected_cas_numbers_are_the_stored_ones() -> None:
    assert CONTROLS.substance("norfentanyl").cas == ("1609-66-1",)
    assert CONTROLS.substance("4-ap").cas == ("23056-29-3",)


def test_no_cas_number_names_two_substances() -> None:
    seen: dict[str, str] = {}
    for sub in SUBSTANCES:
        for cas in sub.cas:
            assert cas not in seen, f"{cas} on {seen.get(cas)} and {sub.id}"
            seen[cas] = sub.id


@pytest.mark.parametrize("sub", SUBSTANCES, ids=_ids(SUBSTANCES))
def test_every_smiles_parses_and_standardises(sub: Substance) -> None:
    st = from_smiles(sub.smiles)
    assert len(st.inchikey) == 27


def test_no_two_substances_share_a_structure() -> None:
    keys: dict[str, str] = {}
    for sub in SUBSTANCES:
        key = from_smiles(sub.smiles).inchikey
        assert key not in keys, f"{sub.id} and {keys.get(key)} have the same structure"
        keys[key] = sub.id


def test_smiles_agree_with_opsin_parse_of_the_systematic_name(tmp_path: Path) -> None:
    named = [s for s in SUBSTANCES if s.systematic_name]
    assert len(named) >= 72
    # One OPSIN call for the batch; py2opsin's input file is its own per test, or two test
    # processes in one directory overwrite and delete each other's.
    parsed = py2opsin([s.systematic_name for s in named], tmp_fpath=str(tmp_path / "in.txt"))
    assert isinstance(parsed, list)
    wrong = []
    for sub, smi in zip(named, parsed, strict=True):
        assert smi, f"OPSIN cannot parse {sub.systematic_name!r} ({sub.id})"
        if from_smiles(smi).inchikey != from_smiles(sub.smiles).inchikey:
            wrong.append(f"{sub.id}: stored {sub.smiles}, OPSIN {smi}")
    assert not wrong


def test_npp_inchikey_equals_opsin_parse_of_its_systematic_name(tmp_path: Path) -> None:
    (smi,) = py2opsin(["1-(2-phenylethyl)piperidin-4-one"],
                      tmp_fpath=str(tmp_path / "in.txt")) or [""]
    assert from_smiles(CONTROLS.substance("npp").smiles).inchikey == from_smiles(smi).inchikey


# Structures checked by hand against the names in the facts file: formula and key atoms.
FORMULAE = [
    ("npp", "C13H17NO"),
    ("anpp", "C19H24N2"),
    ("4-ap", "C11H16N2"),
    ("1-boc-4-ap", "C16H24N2O2"),
    ("norfentanyl", "C14H20N2O"),
    ("4-piperidone", "C5H9NO"),
    ("1-boc-4-piperidone", "C10H17NO3"),
    ("benzylfentanyl", "C21H26N2O"),
    ("fentanyl", "C22H28N2O"),
    ("carfentanil", "C24H30N2O3"),
    ("ergotamine", "C33H35N5O5"),  # hand-drawn: OPSIN has no name for the ergotaman skeleton
    ("ergometrine", "C19H23N3O2"),
    ("lysergic-acid", "C16H16N2O2"),
]


@pytest.mark.parametrize(("sub_id", "formula"), FORMULAE)
def test_formula_matches_the_named_structure(sub_id: str, formula: str) -> None:
    assert from_smiles(CONTROLS.substance(sub_id).smiles).formula == formula


def test_stereo_kept_where_the_name_gives_it() -> None:
    eph = from_smiles(CONTROLS.substance("ephedrine").smiles)
    pse = from_smiles(CONTROLS.substance("pseudoephedrine").smiles)
    # diastereomers: same connectivity, different full key
    assert eph.skeleton_key == pse.skeleton_key
    assert eph.inchikey != pse.inchikey
    assert "@" in CONTROLS.substance("ergotamine").smiles


def test_hand_drawn_smiles_are_the_only_ones_without_a_systematic_name() -> None:
    hand_drawn = {s.id for s in SUBSTANCES if not s.systematic_name}
    assert hand_drawn == {"ergotamine", "ergocristine", "white-phosphorus"}
    mol = Chem.MolFromSmiles(CONTROLS.substance("ergotamine").smiles)
    assert CalcMolFormula(mol) == "C33H35N5O5"
    assert CalcMolFormula(Chem.MolFromSmiles(CONTROLS.substance("white-phosphorus").smiles)) == "P4"
    # ergotamine with the 2'-methyl replaced by isopropyl, same stereo
    ergocristine = Chem.MolFromSmiles(CONTROLS.substance("ergocristine").smiles)
    assert CalcMolFormula(ergocristine) == "C35H39N5O5"
    assert len(Chem.FindMolChiralCenters(ergocristine)) == len(Chem.FindMolChiralCenters(mol))


@pytest.mark.parametrize("sub", SUBSTANCES, ids=_ids(SUBSTANCES))
def test_every_substance_is_cited_and_listed(sub: Substance) -> None:
    assert sub.sources
    assert CONTROLS.listings_for(sub.id), f"{sub.id} is on no list"


def test_every_listing_and_rule_carries_a_citation() -> None:
    for x in CONTROLS.listings:
        assert x.source and x.legal_reference, x
    for r in CONTROLS.rules:
        assert r.source and r.legal_reference and r.label, r


def test_manifest_names_resolve_to_records() -> None:
    names = {n.lower(): s.id for s in SUBSTANCES for n in (s.name, *s.synonyms, *s.abbreviations)}
    expected = {
        "4-anpp": "anpp", "despropionyl fentanyl": "anpp",
        "n-boc-4-piperidone": "1-boc-4-piperidone", "1-boc-4-ap": "1-boc-4-ap",
        "tert-butyl 4-oxopiperidine-1-carboxylate": "1-boc-4-piperidone",
        "npp": "npp", "4-ap": "4-ap", "norfentanyl": "norfentanyl", "p-2-p": "p2p",
        "tert-butyl 4-anilinopiperidine-1-carboxylate": "1-boc-4-ap",
    }
    for name, sub_id in expected.items():
        assert names.get(name) == sub_id, name


def test_no_name_points_to_two_substances() -> None:
    owner: dict[str, str] = {}
    for sub in SUBSTANCES:
        for n in {x.lower() for x in (sub.name, *sub.synonyms, *sub.abbreviations)}:
            assert owner.setdefault(n, sub.id) == sub.id, f"{n!r}: {owner[n]} and {sub.id}"


UN_TABLE_I = {
    "acetic-anhydride", "n-acetylanthranilic-acid", "ephedrine", "pseudoephedrine",
    "norephedrine", "ergometrine", "ergotamine", "lysergic-acid", "p2p", "phenylacetic-acid",
    "apaan", "apaa", "mapa", "bmk-glycidic-acid", "bmk-methyl-glycidate", "bmk-ethyl-glycidate",
    "isosafrole", "safrole",
    "piperonal", "pmk", "pmk-glycidic-acid", "pmk-methyl-glycidate", "anpp", "npp", "4-ap",
    "1-boc-4-ap", "norfentanyl", "4-piperidone", "1-boc-4-piperidone", "potassium-permanganate",
}
UN_TABLE_II = {
    "acetone", "anthranilic-acid", "ethyl-ether", "hydrochloric-acid", "methyl-ethyl-ketone",
    "piperidine", "sulphuric-acid", "toluene",
}
UN_1961_FENTANYLS = {
    "fentanyl", "alfentanil", "sufentanil", "remifentanil", "carfentanil", "acetylfentanyl",
    "butyrfentanyl", "furanylfentanyl", "acryloylfentanyl", "ocfentanil",
    "4-fluoroisobutyrfentanyl", "tetrahydrofuranylfentanyl", "methoxyacetylfentanyl",
    "cyclopropylfentanyl", "valerylfentanyl", "para-fluorobutyrfentanyl", "ortho-fluorofentanyl",
    "crotonylfentanyl", "3-methylfentanyl", "alpha-methylfentanyl", "para-fluorofentanyl",
    "3-methylthiofentanyl", "beta-hydroxyfentanyl",
}


def _on_list(jurisdiction: str, list_name: str) -> set[str]:
    return {x.substance for x in CONTROLS.listings
            if x.jurisdiction == jurisdiction and x.list == list_name and x.until is None}


def test_un_tables_cover_every_substance_now_scheduled() -> None:
    assert _on_list("UN", "1988 Convention Table I") == UN_TABLE_I
    assert _on_list("UN", "1988 Convention Table II") == UN_TABLE_II


def test_single_convention_covers_the_named_fentanyls() -> None:
    assert _on_list("UN", "1961 Convention Schedule I") >= UN_1961_FENTANYLS


@pytest.mark.parametrize(("jurisdiction", "expected"), [
    ("US", {"npp", "anpp", "norfentanyl", "4-ap", "benzylfentanyl", "1-boc-4-ap", "4-piperidone",
            "1-boc-4-piperidone", "propionic-anhydride"}),
    ("CN", {"npp", "anpp", "4-ap", "1-boc-4-ap", "norfentanyl"}),
    ("MX", {"npp", "anpp", "4-ap", "propionic-anhydride", "propionyl-chloride"}),
    ("CA", {"propionyl-chloride", "npp", "4-piperidone", "norfentanyl", "anpp-imine", "4-ap",
            "trimethylcyclohexanediamine"}),
    ("EU", {"npp", "anpp", "4-ap", "1-boc-4-ap", "norfentanyl", "4-piperidone",
            "1-boc-4-piperidone"}),
])
def test_national_fentanyl_precursor_coverage(jurisdiction: str, expected: set[str]) -> None:
    listed = {x.substance for x in CONTROLS.listings
              if x.jurisdiction == jurisdiction and x.effect == "control"}
    assert expected <= listed


def test_watch_entries_are_never_controls() -> None:
    watch = [x for x in CONTROLS.listings if x.effect == "watch"]
    assert {x.substance for x in watch} == {"phenethyl-bromide", "sodium-borohydride",
                                            "propionyl-chloride"}
    assert all(x.list.startswith("Special Surveillance List") for x in watch)


def test_unverified_dates_say_so() -> None:
    # Assumed dates carry a verification short of primary and the reason, so nobody mistakes
    # them for facts; the note is left to what the instrument says.
    for x in CONTROLS.listings:
        if x.jurisdiction in ("UN", "US", "CA") and x.verification != "primary":
            assert x.verification_reason, x
            assert "UNVERIFIED" not in x.note and "3rd-party" not in x.note, x


@pytest.mark.parametrize("name", [
    "piperidone",  # 2-, 3- and 4-piperidone are all in trade; only the 4- isomer is listed
    "ether",  # petroleum ether, other ethers
    "PAA",  # also peracetic acid, polyacrylic acid
    "PPA",  # also polyphthalamide
    "ethyl 3-methyl-3-phenylglycidate",  # flavouring, not the BMK ester
    "BMK glycidate ethyl",
])
def test_ambiguous_names_are_not_record_names(name: str) -> None:
    names = {n.lower() for s in SUBSTANCES for n in (s.name, *s.synonyms, *s.abbreviations)}
    assert name.lower() not in names


def test_salt_forms_standardise_to_their_substance() -> None:
    from precursorwatch.chem.structure import from_smiles
    from precursorwatch.controls.load import load_controls

    controls = load_controls()
    forms = [(s, f) for s in controls.substances for f in s.salt_forms]
    assert forms
    for sub, form in forms:
        st = from_smiles(form.smiles)
        assert st.inchikey == from_smiles(sub.smiles).inchikey, form.name
        assert st.is_salt_or_hydrate, form.name


US_LIST_I, US_LIST_II = "List I (21 CFR 1310.02)", "List II (21 CFR 1310.02)"
UN_TABLE_I_NAME, UN_TABLE_II_NAME = "1988 Convention Table I", "1988 Convention Table II"


def _listing(substance: str, jurisdiction: str, list_name: str) -> list[Listing]:
    return sorted((x for x in CONTROLS.listings_for(substance)
                   if x.jurisdiction == jurisdiction and x.list == list_name),
                  key=lambda x: x.since)


@pytest.mark.parametrize(("substance", "quantity", "unit"), [
    ("methylamine", 1, "kg"),  # 21 CFR 1310.04(f)(1)(i)
    ("propionic-anhydride", 1, "g"),
    ("piperidine", 500, "g"),
    ("ergometrine", 10, "g"),
    ("hydriodic-acid", 1.7, "kg"),
])
def test_us_list_i_thresholds_are_those_of_21_cfr_1310_04(substance: str, quantity: float,
                                                          unit: str) -> None:
    (listing,) = _listing(substance, "US", US_LIST_I)
    assert listing.threshold is not None
    assert (listing.threshold.quantity, listing.threshold.unit) == (quantity, unit)
    assert listing.threshold.reference.startswith("21 CFR 1310.04(f)(1)")


@pytest.mark.parametrize("substance", ["ephedrine", "pseudoephedrine", "red-phosphorus", "4-ap",
                                       "4-piperidone", "npp"])
def test_us_list_i_without_threshold_says_every_transaction_counts(substance: str) -> None:
    (listing,) = _listing(substance, "US", US_LIST_I)
    assert listing.threshold is None
    assert "No threshold" in listing.note


def test_un_transfers_between_tables_leave_no_gap_and_no_overlap() -> None:
    for substance in ("acetic-anhydride", "potassium-permanganate", "phenylacetic-acid"):
        table_ii = _listing(substance, "UN", UN_TABLE_II_NAME)
        table_i = _listing(substance, "UN", UN_TABLE_I_NAME)
        assert len(table_ii) == 1 and len(table_i) == 1, substance
        assert table_ii[0].until == table_i[0].since, substance


def test_moves_between_us_lists_leave_no_gap() -> None:
    for substance in ("iodine", "hydriodic-acid"):
        (list_ii,) = _listing(substance, "US", US_LIST_II)
        (list_i,) = _listing(substance, "US", US_LIST_I)
        assert list_ii.until == list_i.since, substance


def test_in_force_dates_confirmed_by_the_issuing_bodies() -> None:
    # INCB, 3 Dec 2024; Health Canada, 9 Jan 2003 (Class A licences and permits); 82 FR 32457
    expected = {("4-piperidone", "UN"): dt.date(2024, 12, 3),
                ("bmk-glycidic-acid", "UN"): dt.date(2024, 12, 3),
                ("ephedrine", "CA"): dt.date(2003, 1, 9),
                ("apaan", "US"): dt.date(2017, 8, 14)}
    for (substance, jurisdiction), since in expected.items():
        (listing,) = [x for x in CONTROLS.listings_for(substance)
                      if x.jurisdiction == jurisdiction and x.list in (
                          UN_TABLE_I_NAME, US_LIST_I,
                          "Precursor Control Regulations Schedule (CDSA Schedule VI Part 1)")]
        assert listing.since == since and listing.verification == "primary", listing
