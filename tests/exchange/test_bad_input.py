"""Bad input gets a JSON error naming the field, and nothing is written."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from exchange_helpers import incident, notification
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from precursorwatch.exchange.models import AuditEntry, Incident, Notification

PARTY = {"name": "X", "address": "Y", "country": "CN"}

# (case, body, words the error message must contain)
BAD_NOTIFICATIONS: list[tuple[str, Any, str]] = [
    ("unknown field", notification(colour="red"), "body.colour: unknown field"),
    ("unknown nested field", notification(exporter={**PARTY, "phone": "1"}),
     "body.exporter.phone: unknown field"),
    ("quantity as text", notification(quantity="25"), "body.quantity"),
    ("quantity as boolean", notification(quantity=True), "body.quantity"),
    ("negative quantity", notification(quantity=-1), "greater than or equal to 0.001"),
    ("denormal quantity", notification(quantity=5e-324),
     "body.quantity: Input should be greater than or equal to 0.001"),
    ("quantity over any shipment", notification(quantity=200_000, unit="t"),
     "quantity: 200000 t is more than any shipment carries"),
    ("timestamp for a date", notification(planned_shipment_date="2026-12-01T00:00:00"),
     "body.planned_shipment_date: Value error, must be a date in YYYY-MM-DD form"),
    ("date with a zone", notification(planned_arrival_date="2026-12-20Z"),
     "body.planned_arrival_date: Value error, must be a date in YYYY-MM-DD form"),
    ("year one", notification(planned_shipment_date="0001-01-01"),
     "planned_shipment_date: 0001-01-01 is not between 2025-11-23 and 2028-11-22"),
    ("year 9999", notification(planned_shipment_date="9999-12-31"),
     "planned_shipment_date: 9999-12-31 is not between"),
    ("arrival years later", notification(planned_arrival_date="2030-01-01"),
     "planned_arrival_date: 2030-01-01 is more than a year after"),
    ("right-to-left override in a name",
     notification(exporter={**PARTY, "name": "Acme \u202eoC lacimehC"}),
     "body.exporter.name: Value error, must not contain the bidirectional control U+202E"),
    ("bidi isolate in an address",
     notification(importer={**PARTY, "address": "Calle \u2067 5", "country": "MX"}),
     "body.importer.address: Value error, must not contain the bidirectional control U+2067"),
    ("left-to-right mark in the substance", notification(substance="\u200ePMK"),
     "body.substance: Value error, must not contain the bidirectional control U+200E"),
    ("terminal escape in a name", notification(point_of_entry="Manz\x1b[31manillo"),
     "body.point_of_entry: Value error, must not contain the control character U+001B"),
    ("line break in a name", notification(exporter={**PARTY, "name": "Acme\nLtd"}),
     "body.exporter.name: Value error, must not contain the control character U+000A"),
    ("C1 control in free text", notification(other_information="see\x85below"),
     "body.other_information: Value error, must not contain the control character U+0085"),
    ("zero-width space in a name", notification(exporter={**PARTY, "name": "Ac\u200bme"}),
     "body.exporter.name: Value error, must not contain the invisible character U+200B"),
    ("unknown unit", notification(unit="barrel"), "body.unit"),
    ("missing substance", {k: v for k, v in notification().items() if k != "substance"},
     "body.substance: Field required"),
    ("empty substance", notification(substance=""), "body.substance"),
    ("substance too long", notification(substance="x" * 201), "body.substance"),
    ("NUL in a name", notification(point_of_entry="Manz\x00anillo"), "NUL"),
    ("country not ISO", notification(importer={**PARTY, "country": "Mexico"}),
     "body.importer.country"),
    ("date as number", notification(planned_shipment_date=20261201),
     "body.planned_shipment_date"),
    ("impossible date", notification(planned_shipment_date="2026-02-30"),
     "body.planned_shipment_date"),
    ("arrival before dispatch", notification(planned_arrival_date="2026-11-01"),
     "planned_arrival_date is before"),
    ("authority in lower case", notification(importing_authority="mx"),
     "body.importing_authority"),
    ("transit as a string", notification(transit_authorities="US"), "body.transit_authorities"),
    ("array body", [notification()], "body"),
    ("null body", None, "body"),
]


@pytest.mark.parametrize(("case", "body", "words"), BAD_NOTIFICATIONS,
                         ids=[c[0] for c in BAD_NOTIFICATIONS])
def test_bad_notification_is_refused_with_the_field_named(
        client: TestClient, authorities: Any, app: FastAPI, case: str, body: Any,
        words: str) -> None:
    got = client.post("/v1/notifications", json=body, headers=authorities.headers("CN"))
    assert got.status_code == 422, got.text
    error = got.json()["error"]
    assert error["code"] == "invalid_request"
    assert words in error["message"], error["message"]
    assert_nothing_written(app)


def assert_nothing_written(app: FastAPI) -> None:
    with app.state.exchange.sessions() as session:
        for table in (Notification, Incident, AuditEntry):
            assert session.scalar(select(func.count()).select_from(table)) == 0, table


@pytest.mark.parametrize("raw", [b"{", b'{"quantity": NaN}', b"\xff\xfe", b""],
                         ids=["truncated", "NaN", "byte-order mark only", "empty"])
def test_malformed_json_is_refused(client: TestClient, authorities: Any, app: FastAPI,
                                   raw: bytes) -> None:
    got = client.post("/v1/notifications", content=raw,
                      headers={**authorities.headers("CN"), "Content-Type": "application/json"})
    assert got.status_code == 422, got.text
    assert got.json()["error"]["code"] == "invalid_request"
    assert_nothing_written(app)


UNPARSEABLE: list[tuple[str, bytes, str, str]] = [
    ("not UTF-8", b'{"substance": "caf\xe9"}', "invalid_utf8", "byte 0xe9 at offset 18"),
    ("nested 1,000 levels", b"[" * 1000 + b"]" * 1000, "json_too_deep", "too deeply"),
    ("integer of 4,301 digits", b'{"quantity": ' + b"9" * 4301 + b"}", "number_too_long",
     "more than 4300 digits"),
]


@pytest.mark.parametrize(("case", "raw", "code", "words"), UNPARSEABLE,
                         ids=[c[0] for c in UNPARSEABLE])
@pytest.mark.parametrize("route", ["/v1/notifications", "/v1/incidents"])
def test_unparseable_body_gets_a_specific_error(client: TestClient, authorities: Any,
                                                app: FastAPI, route: str, case: str,
                                                raw: bytes, code: str, words: str) -> None:
    got = client.post(route, content=raw,
                      headers={**authorities.headers("CN"), "Content-Type": "application/json"})
    assert got.status_code == 400, got.text
    assert got.json()["error"]["code"] == code
    assert words in got.json()["error"]["message"], got.json()
    assert_nothing_written(app)


BAD_INCIDENTS: list[tuple[str, Any, str]] = [
    ("shared with nobody known", incident(shared_with=["ZZ"]), "shared_with[0]: 'ZZ'"),
    ("shared_with a word", incident(shared_with="everyone"), "body.shared_with"),
    ("quantity without unit", incident(unit=None), "quantity and unit go together"),
    ("unknown kind", incident(kind="rumour"), "body.kind"),
    ("party role unknown", incident(parties=[{**PARTY, "role": "cousin"}]),
     "body.parties.0.role"),
    ("too many parties", incident(parties=[{**PARTY, "role": "other"}] * 21), "body.parties"),
    ("denormal quantity", incident(quantity=5e-324), "body.quantity"),
    ("over any shipment", incident(quantity=2e8, unit="kg"),
     "quantity: 2e+08 kg is more than any shipment carries"),
    ("year one", incident(incident_date="0001-01-01"),
     "incident_date: 0001-01-01 is not between 1990-01-01 and today (2026-11-23)"),
    ("before 1990", incident(incident_date="1989-12-31"), "incident_date: 1989-12-31"),
    ("in the future", incident(incident_date="2026-11-25"), "incident_date: 2026-11-25"),
    ("year 9999", incident(incident_date="9999-12-31"), "incident_date: 9999-12-31"),
    ("timestamp for a date", incident(incident_date="2026-11-02T10:00:00"),
     "body.incident_date: Value error, must be a date in YYYY-MM-DD form"),
    ("override in the notes", incident(notes="paid \u202ein cash"),
     "body.notes: Value error, must not contain the bidirectional control U+202E"),
    ("override in a party name",
     incident(parties=[{**PARTY, "role": "other", "name": "\u202dX"}]),
     "body.parties.0.name: Value error, must not contain the bidirectional control U+202D"),
]


@pytest.mark.parametrize(("case", "body", "words"), BAD_INCIDENTS,
                         ids=[c[0] for c in BAD_INCIDENTS])
def test_bad_incident_is_refused(client: TestClient, authorities: Any, app: FastAPI, case: str,
                                 body: Any, words: str) -> None:
    got = client.post("/v1/incidents", json=body, headers=authorities.headers("US"))
    assert got.status_code == 422, got.text
    assert words in got.json()["error"]["message"], got.json()
    assert_nothing_written(app)


def test_bad_answers_are_refused(client: TestClient, authorities: Any) -> None:
    sent = client.post("/v1/notifications", json=notification(),
                       headers=authorities.headers("CN")).json()
    url = f"/v1/notifications/{sent['id']}/response"
    for body, words in [({"decision": "objection", "reason": "no \u202elicence"},
                         "body.reason: Value error, must not contain the bidirectional"),
                        ({"decision": "maybe"}, "body.decision"),
                        ({"decision": "no_objection", "signed": True}, "body.signed"),
                        ({}, "body.decision: Field required")]:
        got = client.post(url, json=body, headers=authorities.headers("MX"))
        assert got.status_code == 422 and words in got.json()["error"]["message"]
    assert client.get(f"/v1/notifications/{sent['id']}",
                      headers=authorities.headers("MX")).json()["status"] == "sent"


@pytest.mark.parametrize("path", ["/v1/notifications/1", "/v1/notifications/..%2F..%2Fetc",
                                  "/v1/incidents/'%20OR%201=1--",
                                  "/v1/notifications/2F1C6A55-8D0E-4C8E-9D1A-6A0B9E1F2A3B"])
def test_bad_record_ids_are_refused(client: TestClient, authorities: Any, path: str) -> None:
    got = client.get(path, headers=authorities.headers("CN"))
    assert got.status_code in (404, 422)
    assert got.json()["error"]["code"] in ("invalid_request", "not_found")


@pytest.mark.parametrize("query", ["?limit=0", "?limit=501", "?offset=-1", "?status=lost",
                                   "?direction=sideways", "?limit=ten"])
def test_bad_list_queries_are_refused(client: TestClient, authorities: Any, query: str) -> None:
    got = client.get(f"/v1/notifications{query}", headers=authorities.headers("CN"))
    assert got.status_code == 422
    assert got.json()["error"]["message"].startswith("query.")


def test_oversize_body_is_refused_before_reading_it(client: TestClient, authorities: Any,
                                                    app: FastAPI) -> None:
    limit = app.state.exchange.settings.max_body_bytes
    big = notification(other_information="x" * 4000)
    big["exporter_reference"] = "y" * 200
    padded = {**big, "padding": "z" * limit}
    got = client.post("/v1/notifications", json=padded, headers=authorities.headers("CN"))
    assert got.status_code == 413
    assert got.json()["error"]["code"] == "body_too_large"

    def chunks() -> Any:  # no Content-Length: the body arrives in pieces
        for _ in range(limit // 1000 + 2):
            yield b" " * 1000

    streamed = client.post("/v1/notifications", content=chunks(),
                           headers={**authorities.headers("CN"),
                                    "Content-Type": "application/json"})
    assert streamed.status_code == 413
    assert_nothing_written(app)


def test_unknown_route_and_method_get_json_errors(client: TestClient, authorities: Any) -> None:
    missing = client.get("/v1/shipments", headers=authorities.headers("CN"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = client.delete("/v1/notifications", headers=authorities.headers("CN"))
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    assert wrong.headers["Allow"] == "GET, OPTIONS, POST"


@pytest.mark.parametrize(("path", "allow"), [
    ("/v1/notifications", "GET, OPTIONS, POST"),
    ("/v1/notifications/2f1c6a55-8d0e-4c8e-9d1a-6a0b9e1f2a3b", "GET, OPTIONS"),
    ("/v1/notifications/2f1c6a55-8d0e-4c8e-9d1a-6a0b9e1f2a3b/response", "OPTIONS, POST"),
    ("/v1/incidents", "GET, OPTIONS, POST"),
    ("/healthz", "GET, OPTIONS"),
    ("/openapi.json", "GET, HEAD, OPTIONS"),
])
def test_options_lists_every_method_of_the_path(client: TestClient, path: str,
                                                allow: str) -> None:
    got = client.options(path)
    assert got.status_code == 204, got.text
    assert got.headers["Allow"] == allow and got.content == b""
    wrong = client.put(path)
    assert wrong.status_code == 405 and wrong.headers["Allow"] == allow
    assert allow in wrong.json()["error"]["message"]
    for method in allow.split(", "):  # each method listed is one the path answers
        assert client.request(method, path).status_code != 405, method


def _raw(body: dict[str, Any], *, value_at: str | None = None, key_in: str | None = None
         ) -> bytes:
    """The body as JSON bytes with a lone surrogate escape (`\\ud800`) spliced into the string
    value of the field named `value_at`, or as an extra key of the object at `key_in`
    ("" for the top)."""
    text = json.dumps(body)
    if value_at is not None:
        marker = f'"{value_at}": "'
        assert marker in text, value_at
        text = text.replace(marker, marker + "\\ud800", 1)
    if key_in is not None:
        marker = f'"{key_in}": {{' if key_in else "{"
        assert marker in text, key_in
        text = text.replace(marker, marker + '"x\\ud800y": 1, ', 1)
    return text.encode("ascii")


SURROGATE_CASES: list[tuple[str, str, dict[str, Any], dict[str, str | None]]] = [
    ("notification name", "/v1/notifications", notification(), {"value_at": "name"}),
    ("notification point of entry", "/v1/notifications", notification(),
     {"value_at": "point_of_entry"}),
    ("notification unit", "/v1/notifications", notification(), {"value_at": "unit"}),
    ("notification authority", "/v1/notifications", notification(),
     {"value_at": "importing_authority"}),
    ("notification date", "/v1/notifications", notification(),
     {"value_at": "planned_shipment_date"}),
    ("notification key", "/v1/notifications", notification(), {"key_in": ""}),
    ("notification nested key", "/v1/notifications", notification(), {"key_in": "exporter"}),
    ("correction substance", "/v1/notifications/{id}/corrections", notification(),
     {"value_at": "substance"}),
    ("correction key", "/v1/notifications/{id}/corrections", notification(), {"key_in": ""}),
    ("answer decision", "/v1/notifications/{id}/response", {"decision": "objection",
                                                           "reason": "no licence"},
     {"value_at": "decision"}),
    ("answer reason", "/v1/notifications/{id}/response", {"decision": "objection",
                                                         "reason": "no licence"},
     {"value_at": "reason"}),
    ("answer key", "/v1/notifications/{id}/response", {"decision": "no_objection"},
     {"key_in": ""}),
    ("incident substance", "/v1/incidents", incident(), {"value_at": "substance"}),
    ("incident role", "/v1/incidents", incident(), {"value_at": "role"}),
    ("incident notes", "/v1/incidents", incident(), {"value_at": "notes"}),
    ("incident kind", "/v1/incidents", incident(), {"value_at": "kind"}),
    ("incident key", "/v1/incidents", incident(), {"key_in": ""}),
]


@pytest.mark.parametrize(("case", "route", "body", "where"), SURROGATE_CASES,
                         ids=[c[0] for c in SURROGATE_CASES])
def test_lone_surrogates_get_a_json_error_naming_the_field(
        client: TestClient, authorities: Any, case: str, route: str, body: dict[str, Any],
        where: dict[str, str | None]) -> None:
    headers = {"Content-Type": "application/json"}
    if "{id}" in route:
        sent = client.post("/v1/notifications", json=notification(),
                           headers=authorities.headers("CN"))
        route = route.replace("{id}", sent.json()["id"])
    code = "MX" if route.endswith("/response") else "CN"
    got = client.post(route, content=_raw(body, **where),
                      headers={**authorities.headers(code), **headers})
    assert got.status_code == 422, got.text
    error = got.json()["error"]
    assert error["code"] == "invalid_request"
    if where.get("value_at"):
        assert f".{where['value_at']}" in error["message"], error
    else:  # the key is not a field: the object holding it is named
        place = ".".join(["body", *filter(None, [where["key_in"]])])
        assert error["message"].startswith(f"{place}: not valid Unicode text"), error
    assert "\\ud800" in error["message"], error  # quoted, escaped


def test_a_lone_surrogate_keeps_the_connection_alive(live_server: Any,
                                                     authorities: Any) -> None:
    """The error is written whole: the client's keep-alive connection carries on."""
    ports: list[int] = []
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        for raw in (_raw(notification(), value_at="name"), _raw(notification(), key_in="")):
            got = http.post("/v1/notifications", content=raw,
                            headers={**authorities.headers("CN"),
                                     "Content-Type": "application/json"},
                            extensions={"trace": lambda name, info: ports.append(
                                info["return_value"].get_extra_info("socket").getsockname()[1])
                                if name == "connection.connect_tcp.complete" else None})
            assert got.status_code == 422, got.text
        assert http.get("/healthz").status_code == 200
    assert len(ports) == 1, ports  # one connection for all three requests


def test_a_quoted_value_cannot_disguise_the_error_message(client: TestClient,
                                                          authorities: Any) -> None:
    got = client.post("/v1/notifications", json=notification(unit="kg\u202e\u200b"),
                      headers=authorities.headers("CN"))
    message = got.json()["error"]["message"]
    assert got.status_code == 422 and "body.unit" in message
    assert "\u202e" not in message and "\u200b" not in message
    assert "\\u202e\\u200b" in message, message


def test_bounds_and_text_that_are_fine_are_kept(client: TestClient, authorities: Any) -> None:
    """The edges of the bounds are accepted; free text keeps tabs and line breaks (CR LF
    stored as LF); ZWNJ, which Persian names need, is kept."""
    body = notification(quantity=0.001, unit="mg", planned_shipment_date="2025-11-23",
                        planned_arrival_date="2026-11-23",
                        other_information="line one\r\nline two\tend\rthree",
                        exporter={**PARTY, "name": "\u0634\u0631\u06a9\u062a \u0645\u06cc"
                                  "\u200c\u0647\u0627"})
    got = client.post("/v1/notifications", json=body, headers=authorities.headers("CN"))
    assert got.status_code == 201, got.text
    stored = got.json()
    assert stored["quantity"] == 0.001
    assert stored["other_information"] == "line one\nline two\tend\nthree"
    assert "\u200c" in stored["exporter"]["name"]
    latest = notification(quantity=100_000, unit="t", planned_shipment_date="2028-11-22")
    assert client.post("/v1/notifications", json=latest,
                       headers=authorities.headers("CN")).status_code == 201
    today = incident(incident_date="2026-11-24")  # a day ahead of UTC: a time zone east
    assert client.post("/v1/incidents", json=today,
                       headers=authorities.headers("US")).status_code == 201
    first = incident(incident_date="1990-01-01")
    assert client.post("/v1/incidents", json=first,
                       headers=authorities.headers("US")).status_code == 201
    report = client.get("/v1/audit/verify", headers=authorities.headers("CN")).json()
    assert report["ok"], report
