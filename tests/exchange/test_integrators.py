"""POST /v1/check and POST /v1/match: the exchange's substance checks and party screening for
other systems, with the real control lists, the real Checker and real watchlists."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from exchange_helpers import Clock
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from precursorwatch.detect.check import Checker
from precursorwatch.exchange.admin import add_authority
from precursorwatch.exchange.app import create_app
from precursorwatch.exchange.schemas import CheckOut, MatchOut
from precursorwatch.exchange.settings import ExchangeSettings

UN_LIST = Path(__file__).resolve().parents[3] / "shared" / "data" / "un-consolidated" / (
    "UN_consolidated.xml")
BOYLE = {"name": "Shanghai Boyle Chemical Co Ltd", "country": "CN",
         "address": "Room 520-522, No. 135 Dongfang Road, Pudong, Shanghai", "role": "exporter"}


def check(client: TestClient, authorities: Any, **body: Any) -> Any:
    got = client.post("/v1/check", json=body, headers=authorities.headers("CA"))
    if got.status_code == 200:
        CheckOut.model_validate(got.json())
    return got


def match(client: TestClient, authorities: Any, **body: Any) -> Any:
    got = client.post("/v1/match", json=body, headers=authorities.headers("CA"))
    if got.status_code == 200:
        MatchOut.model_validate(got.json())
    return got


# -- /v1/check ------------------------------------------------------------------------------
def test_check_gives_the_clis_verdicts_in_input_order(client: TestClient,
                                                      authorities: Any) -> None:
    identifiers = ["sodium chloride", "1-boc-4-AP", "zzq-unknown-reagent-77", "110-89-4",
                   "1-boc-4-AP"]
    got = check(client, authorities, identifiers=identifiers, as_of="2026-11-23")
    assert got.status_code == 200, got.text
    results = got.json()["results"]
    assert [r["input"] for r in results] == identifiers
    assert [r["verdict"] for r in results][:3] == ["clear", "controlled", "unresolved"]
    assert results[2]["resolved_by"] == "none" and results[2]["reason"]
    cli = Checker.long_running().check_batch(identifiers, as_of=dt_date("2026-11-23"))
    assert results == [v.model_dump(mode="json") for v in cli]
    assert got.json()["as_of"] == "2026-11-23" and got.json()["jurisdictions"] is None


def dt_date(text: str) -> Any:
    import datetime as dt

    return dt.date.fromisoformat(text)


def test_check_by_date_and_jurisdiction(client: TestClient, authorities: Any) -> None:
    now = check(client, authorities, identifiers=["1-boc-4-AP"], jurisdictions=["un", "UN"])
    assert now.json()["jurisdictions"] == ["UN"]
    (verdict,) = now.json()["results"]
    assert verdict["verdict"] == "controlled"
    assert {m["jurisdiction"] for m in verdict["matches"] if m["basis"] == "identity"} == {"UN"}
    before = check(client, authorities, identifiers=["1-boc-4-AP"], jurisdictions=["UN"],
                   as_of="2015-01-01").json()["results"][0]
    assert before["verdict"] != "controlled"  # Table I listed the 4-AP group in 2022


def test_check_refuses_what_it_cannot_do_naming_the_item(client: TestClient,
                                                         authorities: Any) -> None:
    bad = check(client, authorities, identifiers=["NPP"], jurisdictions=["UN", "XX"])
    assert bad.status_code == 422
    message = bad.json()["error"]["message"]
    assert message.startswith("jurisdictions[1]:") and "'XX'" in message
    long = check(client, authorities, identifiers=["NPP", "ANPP", "x" * 1001])
    assert long.status_code == 422
    assert "body.identifiers.2" in long.json()["error"]["message"]
    many = check(client, authorities, identifiers=["NPP"] * 1001)
    assert many.status_code == 422 and "body.identifiers" in many.json()["error"]["message"]
    for body in ({"identifiers": []}, {"identifiers": ["NPP"], "as_of": "2026-11-23T00:00"},
                 {"identifiers": ["NP\u202eP"]}, {"identifiers": ["NPP"], "extra": 1}):
        assert check(client, authorities, **body).status_code == 422, body
    assert client.post("/v1/check", json={"identifiers": ["NPP"]}).status_code == 401


def test_a_full_batch_is_checked(client: TestClient, authorities: Any) -> None:
    identifiers = [f"{n}-{'ab' * 3}" if n % 2 else "NPP" for n in range(1000)]
    got = check(client, authorities, identifiers=identifiers)
    assert got.status_code == 200
    assert len(got.json()["results"]) == 1000
    assert got.json()["results"][0]["verdict"] == "controlled"


@pytest.mark.parametrize("route", ["/v1/check", "/v1/match"])
def test_rate_limited_like_every_route(settings: ExchangeSettings, engine: Engine,
                                       clock: Clock, route: str) -> None:
    app = create_app(dataclasses.replace(settings, rate_limit=2), engine=engine, clock=clock)
    ex = app.state.exchange
    key = add_authority(ex.engine, ex.vault, "CA", "Health Canada OCS").api_key
    body = {"identifiers": ["NPP"]} if route == "/v1/check" else {"parties": [{"name": "x"}]}
    with TestClient(app) as client:
        codes = [client.post(route, json=body, headers={"Authorization": f"Bearer {key}"}
                             ).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


# -- /v1/match ------------------------------------------------------------------------------
def test_a_listed_sdntk_company_is_hit_with_its_features(client: TestClient,
                                                         authorities: Any) -> None:
    got = match(client, authorities, parties=[BOYLE, {"name": "Acme Widgets Inc",
                                                      "country": "US"}])
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["threshold"] == 0.8 and body["watchlist_entries"] > 0
    listed, ordinary = body["results"]
    assert listed["party"] == BOYLE and ordinary["hits"] == []
    hit = listed["hits"][0]
    assert (hit["list"], hit["entry_id"], hit["entry"]) == ("OFAC SDN", "16907",
                                                            "BOYLE CHEMICAL CO., LTD.")
    assert hit["alias"] == "SHANGHAI BOYLE CHEMICAL CO., LTD." and hit["programme"] == "SDNTK"
    assert hit["score"] >= 0.95 and hit["countries"] == ["CN"]
    features = hit["features"]
    assert features["alias"] == 1.0 and features["country"] == 1.0
    assert features["address"] == 1.0 and "city agrees (Shanghai)" in hit["detail"]
    assert 0.5 <= features["name"] < features["alias"]


def test_features_say_what_disagrees_or_is_unknown(client: TestClient,
                                                   authorities: Any) -> None:
    parties = [{**BOYLE, "country": "MX", "address": "Av. Ejemplo 1, Guadalajara"},
               {"name": BOYLE["name"]}, {**BOYLE, "country": "China"}]
    elsewhere, bare, by_name = [r["hits"][0] for r in match(
        client, authorities, parties=parties).json()["results"]]
    assert elsewhere["features"]["country"] == 0.0 and elsewhere["features"]["address"] == 0.0
    assert elsewhere["score"] < bare["score"]  # a different country lowers the match
    assert bare["features"]["country"] is None and bare["features"]["address"] is None
    assert by_name["features"]["country"] == 1.0  # a country's name is understood


def test_threshold_decides_which_hits_come_back(client: TestClient, authorities: Any) -> None:
    near = {"name": "Boyle Chemicals Trading", "country": "CN"}
    strict = match(client, authorities, parties=[near], threshold=1.0).json()
    loose = match(client, authorities, parties=[near], threshold=0.6).json()
    assert strict["threshold"] == 1.0 and strict["results"][0]["hits"] == []
    assert [h["entry_id"] for h in loose["results"][0]["hits"]][:1] == ["16907"]
    assert all(h["score"] >= 0.6 for h in loose["results"][0]["hits"])


def test_match_refuses_what_it_cannot_do_naming_the_item(client: TestClient,
                                                         authorities: Any) -> None:
    bad = match(client, authorities, parties=[BOYLE, {"name": "x", "country": "Atlantis"}])
    assert bad.status_code == 422
    assert bad.json()["error"]["message"].startswith("parties[1].country: 'Atlantis'")
    for body in ({"parties": []}, {"parties": [{"name": "x" * 1001}]},
                 {"parties": [{"name": "x"}] * 1001}, {"parties": [BOYLE], "threshold": 0.2},
                 {"parties": [BOYLE], "threshold": 1.5}, {"parties": [{"country": "CN"}]},
                 {"parties": [{"name": "Boyle\u200bChemical"}]}):
        got = match(client, authorities, **body)
        assert got.status_code == 422, body
        assert "parties" in got.json()["error"]["message"] or "threshold" in got.json()[
            "error"]["message"]


@pytest.mark.parties_unscreened
def test_match_works_where_notified_parties_are_not_screened(client: TestClient,
                                                             authorities: Any) -> None:
    got = match(client, authorities, parties=[BOYLE])
    assert got.json()["results"][0]["hits"][0]["entry_id"] == "16907"


@pytest.mark.skipif(not UN_LIST.is_file(), reason="the UN consolidated list is not here")
def test_match_uses_the_services_configured_watchlists(
        settings: ExchangeSettings, engine: Engine, clock: Clock) -> None:
    app = create_app(dataclasses.replace(settings, watchlists=(str(UN_LIST),)), engine=engine,
                     clock=clock)
    ex = app.state.exchange
    key = add_authority(ex.engine, ex.vault, "CA", "Health Canada OCS").api_key
    with TestClient(app) as client:
        got = client.post("/v1/match", headers={"Authorization": f"Bearer {key}"}, json={
            "parties": [{"name": "Butembo Airlines", "country": "CD",
                         "address": "Boulevard du 30 Juin, Butembo"}, BOYLE]}).json()
    assert got["watchlist_entries"] > 900
    airline, boyle = got["results"]
    hit = airline["hits"][0]
    assert hit["list"] == "UN Consolidated" and hit["entry_id"] == "CDe.002"
    assert hit["features"]["country"] == 1.0 and hit["features"]["address"] == 1.0
    assert boyle["hits"] == []  # the SDNTK excerpt is not screened when other lists are set
