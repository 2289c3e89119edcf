"""Every red-flag rule, firing and not firing, on shipments with real Checker verdicts."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

import pytest

from precursorwatch.screen.config import RulesConfigError, load_rule_config, with_threshold
from precursorwatch.screen.engine import Screener
from precursorwatch.screen.model import PartyHit, Shipment
from precursorwatch.screen.rules import (
    RULE_CODES,
    RULES,
    ChemicalFinding,
    Evidence,
    FileFacts,
    FileKey,
    cas_check_digit,
    cas_contradicts_description,
    controlled_bulk_chemical,
    controlled_chemical,
    crypto_payment,
    designer_chemical,
    explanations,
    express_or_post,
    forwarder_consignee,
    hs_mismatch,
    low_declared_value,
    new_consignee,
    residential_consignee,
    risk_score,
    shipment_flags,
    split_shipments,
    transit_third_country,
    vague_description,
    watch_chemical,
    watchlist_party,
)

CFG = load_rule_config()
BASE = Shipment(row=1, shipment_id="S1", description="goods", date=dt.date(2026, 11, 10),
                shipper_name="Wuhan Example Chemical Co., Ltd.", shipper_country="CN",
                consignee_name="Farmaceutica Ejemplo S.A. de C.V.",
                consignee_address="Av. Vallarta 6503, Zapopan, Jalisco", consignee_country="MX",
                mode="sea", quantity=100, unit="kg", quantity_kg=100, declared_value=20000,
                currency="USD", payment_method="T/T")


@pytest.fixture(scope="module")
def chem(screener: Screener):  # type: ignore[no-untyped-def]
    def make(identifier: str, found_by: str = "name") -> ChemicalFinding:
        return screener.finding(identifier, found_by, screener.checker.check(identifier))
    return make


def ev(*chemicals: ChemicalFinding, **kw: object) -> Evidence:
    return Evidence(chemicals=tuple(chemicals), **kw)  # type: ignore[arg-type]


def test_every_rule_has_a_weight_and_an_explanation() -> None:
    weights = dict(CFG.weights)
    for rule in RULES:
        assert rule.code in weights, rule.code
        assert len(rule.explanation) > 40, rule.code
    assert set(explanations()) == set(RULE_CODES)


def test_chemical_verdict_rules(chem) -> None:  # type: ignore[no-untyped-def]
    npp, urea = chem("NPP"), chem("urea")
    assert npp.verdict == "controlled" and urea.verdict == "clear"
    detail = controlled_chemical(BASE, ev(npp), CFG)
    assert detail is not None and "N-phenethyl-4-piperidone" in detail and "UN" in detail
    assert controlled_chemical(BASE, ev(urea), CFG) is None
    bromide = chem("phenethyl bromide")
    assert bromide.verdict == "watch"
    assert watch_chemical(BASE, ev(bromide), CFG) == "under watch: phenethyl bromide"
    assert watch_chemical(BASE, ev(npp, urea), CFG) is None
    assert designer_chemical(BASE, ev(npp, bromide, urea), CFG) is None


def test_bulk_solvents_weigh_less_than_precursors_until_other_flags_add_up(
        chem) -> None:  # type: ignore[no-untyped-def]
    acetone, toluene, npp = chem("acetone"), chem("toluene"), chem("NPP")
    piperidine = chem("piperidine")  # Table II, but Class A in Canada: a precursor, not bulk
    assert controlled_chemical(BASE, ev(acetone), CFG) is None
    bulk = controlled_bulk_chemical(BASE, ev(acetone, toluene), CFG) or ""
    assert re.match(r"controlled \(bulk reagent or solvent\): acetone \([A-Z/]*UN[A-Z/]*\); "
                        r"toluene \([A-Z/]*UN[A-Z/]*\)", bulk), bulk
    assert controlled_bulk_chemical(BASE, ev(piperidine), CFG) is None
    assert controlled_chemical(BASE, ev(piperidine), CFG) is not None
    mixed = ev(acetone, npp)
    assert "N-phenethyl-4-piperidone" in (controlled_chemical(BASE, mixed, CFG) or "")
    assert "acetone" not in (controlled_chemical(BASE, mixed, CFG) or "")
    plain = shipment_flags(BASE, ev(acetone), CFG)
    assert [f.code for f in plain] == ["CONTROLLED_BULK_CHEMICAL"]
    assert CFG.level(risk_score(plain)) == "low"
    shady = replace(BASE, description="chemical", mode="courier", payment_method="USDT",
                    consignee_address="Privada 4, Int. 2, Zapopan")
    flagged = shipment_flags(shady, ev(acetone), CFG)
    assert CFG.level(risk_score(flagged)) == "high", [f.code for f in flagged]
    # A rules file without bulk categories treats Table II like any other listing.
    strict = replace(CFG, bulk_categories=())
    assert controlled_chemical(BASE, ev(acetone), strict) is not None


def test_designer_rule_fires_on_a_designer_verdict(screener: Screener) -> None:
    # 4-piperidone ethylene ketal: under the UN lists alone no listing covers it, but ketal
    # hydrolysis gives 4-piperidone (masking pattern, domain facts §6.2)
    name = "1,4-dioxa-8-azaspiro[4.5]decane"
    verdict = screener.checker.check(name, jurisdictions=["UN"])
    ketal = screener.finding(name, "name", verdict)
    assert ketal.verdict == "designer"
    detail = designer_chemical(BASE, ev(ketal), CFG)
    assert detail is not None and detail.startswith("designer precursor:")
    assert controlled_chemical(BASE, ev(ketal), CFG) is None
    assert express_or_post(replace(BASE, mode="courier"), ev(ketal), CFG) is not None


def test_declared_cas_of_the_named_chemical_counts_once(chem) -> None:  # type: ignore[no-untyped-def]
    both = ev(chem("NPP"), declared=chem("39742-60-4", "declared_cas"))
    assert len(both.concern) == 1
    other = ev(chem("NPP"), declared=chem("79099-07-3", "declared_cas"))
    assert len(other.concern) == 2


def test_cas_check_digit() -> None:
    assert cas_check_digit(BASE, ev(), CFG) is None
    bad = ev(declared_cas_error="declared CAS 1609-66-5 has a wrong check digit",
             bad_cas_in_text=("40064-34-5",))
    detail = cas_check_digit(BASE, bad, CFG)
    assert detail is not None and "1609-66-5" in detail and "40064-34-5" in detail


def test_cas_contradicts_description(chem) -> None:  # type: ignore[no-untyped-def]
    declared = chem("79099-07-3", "declared_cas")  # 1-boc-4-piperidone
    dog_food = replace(BASE, description="Dog food premium", cas="79099-07-3")
    detail = cas_contradicts_description(dog_food, ev(declared=declared), CFG)
    assert detail is not None and "1-boc-4-piperidone" in detail and "names no chemical" in detail
    other = cas_contradicts_description(dog_food, ev(chem("urea"), declared=declared), CFG)
    assert other is not None and "urea" in other
    same = chem("tert-butyl 4-oxopiperidine-1-carboxylate")
    assert cas_contradicts_description(dog_food, ev(same, declared=declared), CFG) is None
    assert cas_contradicts_description(dog_food, ev(declared=chem("urea", "declared_cas")),
                                       CFG) is None


HS_CASES = [
    ("2309.10", "animal feed"),
    ("3304.99", "cosmetic"),
    ("2710.19", "mineral fuels and oils"),
    ("0802.32", "other nuts"),
    ("3824.99", "miscellaneous chemical products"),
    ("8471.30", "chapter 84"),
    ("2933.39", "own subheading is 2933.37"),
]


@pytest.mark.parametrize(("hs", "expected"), HS_CASES)
def test_hs_mismatch_fires(chem, hs: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    s = replace(BASE, hs_code=hs.replace(".", ""))
    detail = hs_mismatch(s, ev(chem("NPP")), CFG)
    assert detail is not None and expected in detail


def test_hs_mismatch_does_not_fire(chem) -> None:  # type: ignore[no-untyped-def]
    assert hs_mismatch(replace(BASE, hs_code="293337"), ev(chem("NPP")), CFG) is None
    assert hs_mismatch(replace(BASE, hs_code="29333999"), ev(chem("4-piperidone")), CFG) is None
    assert hs_mismatch(replace(BASE, hs_code="230910"), ev(chem("urea")), CFG) is None
    assert hs_mismatch(replace(BASE, hs_code=""), ev(chem("NPP")), CFG) is None


def test_vague_description(chem) -> None:  # type: ignore[no-untyped-def]
    parcel = replace(BASE, description="Chemical intermediate sample", mode="courier",
                     quantity_kg=0.5)
    assert vague_description(parcel, ev(), CFG) is not None
    cas_only = replace(parcel, description="CAS 40064-34-4 pharma intermediate")
    assert vague_description(cas_only, ev(), CFG) is not None
    assert vague_description(replace(parcel, mode="sea", quantity_kg=20000), ev(), CFG) is None
    named = replace(parcel, description="Urea technical grade sample")
    assert vague_description(named, ev(chem("urea")), CFG) is None
    clear_words = replace(parcel, description="Cotton T-shirts, assorted sizes")
    assert vague_description(clear_words, ev(), CFG) is None


def test_express_or_post(chem) -> None:  # type: ignore[no-untyped-def]
    npp = chem("NPP")
    assert express_or_post(replace(BASE, mode="post"), ev(npp), CFG) is not None
    assert express_or_post(replace(BASE, mode="courier"), ev(chem("urea")), CFG) is None
    assert express_or_post(replace(BASE, mode="sea"), ev(npp), CFG) is None


def test_forwarder_and_residential_consignee(chem) -> None:  # type: ignore[no-untyped-def]
    fwd = replace(BASE, consignee_name="Sunbelt Freight Forwarding LLC")
    assert forwarder_consignee(fwd, ev(), CFG) is not None
    assert forwarder_consignee(BASE, ev(), CFG) is None
    home = replace(BASE, consignee_name="Juan Pérez López",
                   consignee_address="Calle Robles 45 Int. 3, Culiacán")
    assert residential_consignee(home, ev(), CFG) is not None
    assert residential_consignee(BASE, ev(), CFG) is None
    suite = replace(BASE, consignee_address="Suite 400, 1 Main St, Houston")
    assert residential_consignee(suite, ev(), CFG) is None  # a business name at a suite
    assert residential_consignee(suite, ev(chem("NPP")), CFG) is not None


def test_transit_third_country() -> None:
    assert transit_third_country(replace(BASE, transit_countries=("KR", "GT")), ev(),
                                 CFG) == "transit via KR, GT (CN -> MX)"
    assert transit_third_country(replace(BASE, transit_countries=("MX",)), ev(), CFG) is None
    assert transit_third_country(BASE, ev(), CFG) is None


@pytest.mark.parametrize(("payment", "fires"), [
    ("Bitcoin (BTC)", True), ("USDT TRC20", True), ("Monero", True), ("T/T", False),
    ("Letter of credit", False), ("Wire transfer, BBVA", False)])
def test_crypto_payment(payment: str, fires: bool) -> None:
    assert (crypto_payment(replace(BASE, payment_method=payment), ev(), CFG) is not None) is fires


def test_low_declared_value(chem) -> None:  # type: ignore[no-untyped-def]
    npp = chem("NPP")
    cheap = replace(BASE, quantity_kg=10, declared_value=50)
    detail = low_declared_value(cheap, ev(npp), CFG)
    assert detail is not None and "5.00 USD/kg" in detail
    assert low_declared_value(replace(cheap, declared_value=5000), ev(npp), CFG) is None
    assert low_declared_value(cheap, ev(chem("urea")), CFG) is None
    in_mxn = replace(cheap, declared_value=5000, currency="MXN")  # 275 USD: 27.5 USD/kg
    assert low_declared_value(in_mxn, ev(npp), CFG) is not None
    # a cheap commodity reagent has its own, lower floor
    bulk = replace(BASE, quantity_kg=500, declared_value=2600)
    assert low_declared_value(bulk, ev(chem("propionyl chloride")), CFG) is None


def test_watchlist_party() -> None:
    hit = PartyHit("shipper", "Boyle Chem", "OFAC SDN", "BOYLE CHEMICAL CO., LTD.", "16907",
                   "BOYLE CHEMICAL CO., LTD.", ("SDNTK",), 0.93, "")
    detail = watchlist_party(BASE, ev(parties=(hit,)), CFG)
    assert detail is not None and "SDNTK" in detail and "0.93" in detail
    assert watchlist_party(BASE, ev(), CFG) is None


def _key(i: int, day: int, kg: float, consignee: str = "pacifico",
         chems: tuple[tuple[str, str], ...] = (("YDJXNYNKKXZBMP", "NPP"),)) -> FileKey:
    return FileKey(i, "jinhe", consignee, chems, dt.date(2026, 11, day), kg)


def test_split_shipments() -> None:
    keys = [_key(1, 16, 4), _key(2, 17, 4), _key(3, 18, 4.5), _key(4, 19, 40)]
    facts = FileFacts.build(keys, CFG)
    for k in keys[:3]:
        detail = split_shipments(k, facts, CFG)
        assert detail is not None and "3 shipments of NPP" in detail and "2026-W47" in detail
    assert split_shipments(keys[3], facts, CFG) is None  # not small
    two = FileFacts.build(keys[:2], CFG)
    assert split_shipments(keys[0], two, CFG) is None
    other_week = [_key(1, 16, 4), _key(2, 17, 4), _key(3, 23, 4)]
    assert split_shipments(other_week[0], FileFacts.build(other_week, CFG), CFG) is None


def test_new_consignee() -> None:
    keys = [_key(1, 2, 100, "norteno", ()), _key(2, 10, 1, "perez"), _key(3, 12, 1, "perez")]
    facts = FileFacts.build(keys, CFG)
    detail = new_consignee(keys[1], facts, CFG)
    assert detail is not None and "2026-11-02" in detail
    assert new_consignee(keys[2], facts, CFG) is None  # no longer new
    assert new_consignee(keys[0], facts, CFG) is None  # the shipper's first shipment
    only = [_key(1, 10, 1, "perez")]
    assert new_consignee(only[0], FileFacts.build(only, CFG), CFG) is None


def test_score_level_and_weights_from_yaml(chem, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    s = replace(BASE, mode="courier", payment_method="bitcoin")
    flags = shipment_flags(s, ev(chem("NPP")), CFG)
    assert [f.code for f in flags] == ["CONTROLLED_CHEMICAL", "EXPRESS_OR_POST",
                                       "CRYPTO_PAYMENT"]
    assert risk_score(flags) == 100 and CFG.level(100) == "high"
    user = tmp_path / "rules.yaml"
    user.write_text("name: strict-mx\nversion: '7'\nweights: {CONTROLLED_CHEMICAL: 20, "
                    "CRYPTO_PAYMENT: 0}\nlevels: {high: 90}\n")
    mine = load_rule_config(user, RULE_CODES)
    assert (mine.name, mine.version) == ("strict-mx", "7")
    flags = shipment_flags(s, ev(chem("NPP")), mine)
    assert [(f.code, f.weight) for f in flags] == [("CONTROLLED_CHEMICAL", 20),
                                                   ("EXPRESS_OR_POST", 15)]
    assert mine.level(35) == "medium" and mine.level(89) == "medium"
    assert mine.level(0) == "none"


@pytest.mark.parametrize(("text", "message"), [
    ("weights: {NO_SUCH_RULE: 5}", "unknown rule code"),
    ("weights: {HS_MISMATCH: 500}", "0-100"),
    ("thresholds: {party_match_typo: 0.5}", "unknown threshold"),
    ("colour: red", "unknown key"),
    ("- a list", "expected a mapping"),
])
def test_bad_rules_file_says_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(text)
    with pytest.raises(RulesConfigError, match=message):
        load_rule_config(path, RULE_CODES)


def test_threshold_per_run() -> None:
    assert with_threshold(CFG, 0.9).party_match == 0.9
    with pytest.raises(RulesConfigError):
        with_threshold(CFG, 1.5)
