"""The OpenAPI page documents every route with examples, and a property-based run of
schemathesis against /openapi.json finds no server error."""

from __future__ import annotations

from typing import Annotated, Any

import schemathesis
from exchange_helpers import incident, notification
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter
from schemathesis import GenerationMode

from precursorwatch.exchange.app import validation_message
from precursorwatch.exchange.routers import incidents as incident_routes
from precursorwatch.exchange.routers import notifications as notification_routes
from precursorwatch.exchange.routers.alerts import AlertOut, AlertPage, RuleStatsOut
from precursorwatch.exchange.routers.permits import PermitOut, PermitPage, VerificationOut
from precursorwatch.exchange.schemas import (
    AuditReport,
    AuthorityOut,
    CheckOut,
    IncidentOut,
    IncidentPage,
    MatchOut,
    NotificationOut,
    NotificationPage,
    SignedRecord,
)

# The documented success shape of each route, checked on every 2xx the run gets.
SHAPES: dict[tuple[str, str], Any] = {
    ("GET", "/v1/authorities"): TypeAdapter(list[AuthorityOut]),
    ("GET", "/v1/notifications"): NotificationPage,
    ("POST", "/v1/notifications"): NotificationOut,
    ("GET", "/v1/notifications/{notification_id}"): NotificationOut,
    ("POST", "/v1/notifications/{notification_id}/response"): NotificationOut,
    ("POST", "/v1/notifications/{notification_id}/corrections"): NotificationOut,
    ("GET", "/v1/incidents"): IncidentPage,
    ("POST", "/v1/incidents"): IncidentOut,
    ("GET", "/v1/incidents/{incident_id}"): IncidentOut,
    ("GET", "/v1/audit/verify"): AuditReport,
    ("GET", "/v1/notifications/{notification_id}/signed"): SignedRecord,
    ("GET", "/v1/incidents/{incident_id}/signed"): SignedRecord,
    ("POST", "/v1/check"): CheckOut,
    ("POST", "/v1/match"): MatchOut,
    ("POST", "/v1/permits"): PermitOut,
    ("GET", "/v1/permits"): PermitPage,
    ("GET", "/v1/permits/{permit_id}"): PermitOut,
    ("POST", "/v1/permits/verify"): VerificationOut,
    ("POST", "/v1/permits/{permit_id}/revoke"): PermitOut,
    ("POST", "/v1/alerts"): AlertOut,
    ("GET", "/v1/alerts"): AlertPage,
    ("GET", "/v1/alerts/{alert_id}"): AlertOut,
    ("POST", "/v1/alerts/{alert_id}/outcome"): AlertOut,
    ("GET", "/v1/stats/rules"): RuleStatsOut,
}

ROUTES = {
    ("get", "/v1/authorities"), ("get", "/v1/notifications"), ("post", "/v1/notifications"),
    ("get", "/v1/notifications/{notification_id}"),
    ("post", "/v1/notifications/{notification_id}/response"),
    ("post", "/v1/notifications/{notification_id}/corrections"),
    ("get", "/v1/incidents"), ("post", "/v1/incidents"), ("get", "/v1/incidents/{incident_id}"),
    ("get", "/v1/audit/verify"), ("get", "/healthz"),
    ("get", "/v1/notifications/{notification_id}/signed"),
    ("get", "/v1/incidents/{incident_id}/signed"),
    ("post", "/v1/check"), ("post", "/v1/match"),
    ("post", "/v1/permits"), ("get", "/v1/permits"), ("get", "/v1/permits/{permit_id}"),
    ("post", "/v1/permits/verify"), ("post", "/v1/permits/{permit_id}/revoke"),
    ("post", "/v1/alerts"), ("get", "/v1/alerts"), ("get", "/v1/alerts/{alert_id}"),
    ("post", "/v1/alerts/{alert_id}/outcome"), ("get", "/v1/stats/rules"),
    ("get", "/v1/subscriptions"), ("post", "/v1/subscriptions"),
    ("delete", "/v1/subscriptions/{subscription_id}"),
}


def has_example(node: Any) -> bool:
    if isinstance(node, dict):
        if node.get("example") is not None or node.get("examples"):
            return True
        return any(has_example(v) for v in node.values())
    if isinstance(node, list):
        return any(has_example(v) for v in node)
    return False


def resolve(spec: dict[str, Any], node: Any) -> Any:
    if isinstance(node, dict) and "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return spec["components"]["schemas"][name]
    return node


def test_every_route_is_documented_with_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    found = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert found == ROUTES
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary") and op.get("description"), where
            ok = next(v for k, v in op["responses"].items() if k.startswith("2"))
            target = resolve(spec, ok["content"]["application/json"].get("schema", {}))
            if target.get("type") == "array":
                target = resolve(spec, target["items"])
            assert has_example(ok) or target.get("examples"), f"{where}: response, no example"
            if "requestBody" in op:
                body = op["requestBody"]["content"]["application/json"]
                assert body.get("examples"), f"{where}: request body without examples"
            for parameter in op.get("parameters", []):
                assert has_example(parameter), f"{where}: {parameter['name']} without example"
            if path != "/healthz":
                for status in ("400", "401", "422", "429", "431"):
                    assert status in op["responses"], f"{where}: {status} undocumented"
                error = op["responses"]["401"]["content"]["application/json"]["schema"]
                assert error["$ref"].endswith("/ErrorBody")


def test_property_based_api_run_finds_no_server_error(app: FastAPI, client: TestClient,
                                                      authorities: Any) -> None:
    # Some real records, so generated ids and codes sometimes meet existing ones.
    client.post("/v1/notifications", json=notification(), headers=authorities.headers("CN"))
    client.post("/v1/incidents", json=incident(), headers=authorities.headers("US"))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    auth = authorities.headers("MX")
    cases = st.one_of(schema.as_strategy(GenerationMode.POSITIVE),
                      schema.as_strategy(GenerationMode.NEGATIVE))
    failures: list[str] = []
    seen: dict[int, int] = {}

    @settings(max_examples=100, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=cases, authenticated=st.sampled_from([True, True, True, False]))
    def run(case: Any, authenticated: bool) -> None:
        response = case.call(headers=auth if authenticated else None)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                            f"{response.text[:300]}")
        else:
            content_type = response.headers.get("content-type", [""])
            assert content_type[0].startswith("application/json"), content_type
            shape = SHAPES.get((case.method.upper(), case.path))
            if response.status_code < 300 and shape is not None:
                if isinstance(shape, type) and issubclass(shape, BaseModel):
                    shape.model_validate(response.json())
                else:
                    shape.validate_python(response.json())
            if response.status_code >= 400:
                assert set(response.json()) == {"error"}
                assert set(response.json()["error"]) == {"code", "message"}

    run()
    assert failures == []
    print("status codes seen:", dict(sorted(seen.items())))
    # The run reached the handlers, not only the validators and the key check.
    assert seen.get(200, 0) + seen.get(201, 0) > 0 and seen.get(422, 0) > 0


def test_rules_between_fields_are_documented(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    rules = {"NotificationIn": ["`importing_authority` is not\n    also in "
                                "`transit_authorities`", "`planned_arrival_date`"],
             "ResponseIn": ["an\n    `objection` gives a `reason`"],
             "IncidentIn": ["`quantity` and `unit` are given\n    together"]}
    for name, words in rules.items():
        description = " ".join(schemas[name]["description"].split())
        for word in words:
            assert " ".join(word.split()) in description, (name, word)


def test_unreadable_requests_are_documented(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    documented = spec["paths"]["/v1/notifications"]["post"]["responses"]
    for code in ("invalid_utf8", "json_too_deep", "number_too_long", "duplicate_header",
                 "bad_http_request"):
        assert code in documented["400"]["description"], code
    for code in ("headers_too_large", "too_many_headers"):
        assert code in documented["431"]["description"], code
    assert "OPTIONS" in spec["info"]["description"]


def test_reads_checked_in_their_endpoint_are_documented_as_the_others(
        client: TestClient) -> None:
    """The single reads check their key and record id in the endpoint, not through FastAPI's
    dependencies: the page still shows the bearer key and the id's pattern, exactly as the
    routes beside them that declare both as dependencies."""
    paths = client.get("/openapi.json").json()["paths"]
    for read, signed in (("/v1/notifications/{notification_id}",
                          "/v1/notifications/{notification_id}/signed"),
                         ("/v1/incidents/{incident_id}", "/v1/incidents/{incident_id}/signed")):
        assert paths[read]["get"]["parameters"] == paths[signed]["get"]["parameters"]
        assert paths[read]["get"]["security"] == paths[signed]["get"]["security"] == [
            {"HTTPBearer": []}]
    for page in ("/v1/notifications", "/v1/incidents"):
        assert paths[page]["get"]["security"] == [{"HTTPBearer": []}]


# The pages' queries declared in the routes' signatures, as FastAPI would check them itself.
_PAGES_AS_FASTAPI_CHECKS_THEM = FastAPI()


@_PAGES_AS_FASTAPI_CHECKS_THEM.get("/v1/notifications")
def _notification_page(q: Annotated[notification_routes.PageQuery, Query()]) -> None: ...


@_PAGES_AS_FASTAPI_CHECKS_THEM.get("/v1/incidents")
def _incident_page(q: Annotated[incident_routes.PageQuery, Query()]) -> None: ...


def test_pages_checked_in_their_endpoint_document_and_refuse_as_fastapi_would(
        client: TestClient, authorities: Any) -> None:
    """The pages check their query in the endpoint (`QueryOf`): the page documents each
    parameter exactly as FastAPI documents the same model declared in a route's signature, and
    a bad value gets the message FastAPI's own check gives, naming `query.NAME`."""
    ours = client.get("/openapi.json").json()["paths"]
    fastapis = TestClient(_PAGES_AS_FASTAPI_CHECKS_THEM)
    expected = fastapis.get("/openapi.json").json()["paths"]
    for page in ("/v1/notifications", "/v1/incidents"):
        assert ours[page]["get"]["parameters"] == expected[page]["get"]["parameters"]

    for page, query in [("/v1/notifications", "limit=0"), ("/v1/notifications", "limit=abc"),
                        ("/v1/notifications", "direction=sideways&status=lost"),
                        ("/v1/notifications", "thread_id=ABC&offset=-1&limit=501"),
                        ("/v1/incidents", "notification_id=x&offset=1000001"),
                        ("/v1/incidents", "limit=2&limit=1.5")]:
        want = fastapis.get(f"{page}?{query}")
        assert want.status_code == 422, query
        got = client.get(f"{page}?{query}", headers=authorities.headers("MX"))
        assert got.status_code == 422, query
        assert got.json()["error"]["message"] == validation_message(want.json()["detail"])
        assert "query." in got.json()["error"]["message"]
    # A good query, and a bad key before a bad query, as everywhere else.
    assert client.get("/v1/incidents?limit=2&offset=0&unknown=1",
                      headers=authorities.headers("MX")).status_code == 200
    assert client.get("/v1/notifications?limit=0",
                      headers={"Authorization": "Bearer nope"}).status_code == 401
