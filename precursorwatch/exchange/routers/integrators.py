"""Checks and party matches for integrators: the exchange's chemistry and watchlist screening
for systems that are not authorities' case files (brokers' and carriers' compliance tools)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from precursorwatch.exchange import service
from precursorwatch.exchange.deps import COMMON_ERRORS, CallerDep, ExchangeDep
from precursorwatch.exchange.schemas import (
    CHECK_EXAMPLE,
    MATCH_EXAMPLE,
    CheckIn,
    CheckOut,
    MatchIn,
    MatchOut,
)

router = APIRouter(prefix="/v1", tags=["integrators"], responses=COMMON_ERRORS)


@router.post("/check", response_model=CheckOut, summary="Check identifiers")
def check(exchange: ExchangeDep, caller: CallerDep,
          data: Annotated[CheckIn, Body(openapi_examples={
              "precursors and a common salt": {"value": CHECK_EXAMPLE},
              "one identifier, all lists today": {"value": {"identifiers": ["NPP"]}}})],
          ) -> CheckOut:
    """Each identifier resolved and checked against the control lists, as `pwatch check`
    does and as a notified substance is checked on receipt: one Contract 1 verdict per
    identifier, in input order (`controlled`, `designer`, `watch`, `clear`, `unresolved`, with
    the matches and their evidence). An identifier that cannot be resolved is `unresolved`
    with the reason, never an error. At most 1,000 identifiers of at most 1,000 characters
    each; a request counts once against the key's rate limit."""
    return CheckOut.model_validate(service.check_identifiers(exchange, data))


@router.post("/match", response_model=MatchOut, summary="Match parties against watchlists")
def match(exchange: ExchangeDep, caller: CallerDep,
          data: Annotated[MatchIn, Body(openapi_examples={
              "a listed company and an ordinary one": {"value": MATCH_EXAMPLE},
              "a name alone": {"value": {"parties": [{"name": "Boyle Chemical"}]}}})],
          ) -> MatchOut:
    """Each party against the watchlists the service screens notified parties against
    (`PWATCH_EXCHANGE_WATCHLIST`; by default the bundled OFAC SDNTK excerpt): the entries
    scoring at least `threshold`, best first, each with its overall `score` and the score of
    each feature (name, alias, country, address). The country and the address corroborate or
    lower a name's match; they never make one on their own. At most 1,000 parties."""
    return MatchOut.model_validate(service.match_parties(exchange, data))
