"""An authority's own deliveries: the webhooks and e-mail addresses it is told through."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, ConfigDict, Field

from precursorwatch.exchange import deliveries, dispatch
from precursorwatch.exchange.deps import COMMON_ERRORS, NOT_FOUND, CallerDep, ExchangeDep
from precursorwatch.exchange.errors import AdminError, Invalid, NotFound
from precursorwatch.exchange.records import when

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"],
                   responses=COMMON_ERRORS)

_EXAMPLE: dict[str, Any] = {"id": 3, "channel": "webhook", "target": "https://cofepris.example/pwatch-hook",
            "events": ["notification.received", "notification.deadline"],
            "created_at": "2026-11-30T09:00:00Z"}


class SubscriptionIn(BaseModel):
    """Where to be told (an http(s) URL, or an e-mail address) and of which events (none
    given: all; see docs/deliveries.md)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    channel: Literal["webhook", "email"]
    target: Annotated[str, Field(min_length=3, max_length=2000)]
    events: Annotated[list[Annotated[str, Field(max_length=40)]],
                      Field(max_length=len(deliveries.EVENTS))] = []


class SubscriptionOut(BaseModel):
    """A subscription of the calling authority. `secret`, the key of a webhook's
    `X-PWatch-Signature` (HMAC-SHA256), is shown only in the answer that made it."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {**_EXAMPLE, "secret": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
        {**_EXAMPLE, "secret": None}]})

    id: int
    channel: str
    target: str
    events: list[str]
    created_at: str
    secret: str | None = None


def _out(found: dispatch.Subscribed) -> SubscriptionOut:
    return SubscriptionOut(id=found.id, channel=found.channel, target=found.target,
                           events=list(found.events), created_at=when(found.created_at),
                           secret=found.secret)


@router.get("", response_model=list[SubscriptionOut], summary="Your deliveries")
def list_(exchange: ExchangeDep, caller: CallerDep) -> list[SubscriptionOut]:
    """The calling authority's active webhook and e-mail subscriptions (never their
    secrets)."""
    return [_out(s) for s in dispatch.subscriptions(exchange.engine, caller.code)]


@router.post("", status_code=201, response_model=SubscriptionOut,
             summary="Be told of your records by webhook or e-mail")
def add(exchange: ExchangeDep, caller: CallerDep,
        data: Annotated[SubscriptionIn, Body(openapi_examples={
            "webhook for new notifications": {"value": {
                "channel": "webhook", "target": "https://cofepris.example/pwatch-hook",
                "events": ["notification.received"]}},
            "e-mail of every event": {"value": {
                "channel": "email", "target": "mesa@cofepris.example"}}})],
        ) -> SubscriptionOut:
    """Events of records the calling authority is party to are sent to `target` from now on,
    each once (retried with back-off until it is accepted). A webhook's answer carries its
    signing secret, shown only here."""
    try:
        made = dispatch.subscribe(exchange.engine, exchange.vault, caller.code, data.channel,
                                  data.target, data.events, now=exchange.now())
    except AdminError as exc:
        field = "events" if str(exc).startswith("event ") else "target"
        raise Invalid(f"{field}: {exc}") from None
    return _out(made)


@router.delete("/{subscription_id}", response_model=SubscriptionOut, responses=NOT_FOUND,
               summary="Stop a delivery")
def stop(exchange: ExchangeDep, caller: CallerDep,
         subscription_id: Annotated[int, Path(ge=1, le=2**31 - 1, examples=[3])],
         ) -> SubscriptionOut:
    """Stop one of the calling authority's subscriptions (its delivery log is kept); 404 for
    any other."""
    found = [s for s in dispatch.subscriptions(exchange.engine, caller.code)
             if s.id == subscription_id]
    if not found:
        raise NotFound(f"no subscription {subscription_id} for this authority")
    try:
        dispatch.unsubscribe(exchange.engine, caller.code, subscription_id,
                             now=exchange.now())
    except AdminError:  # stopped by another request meanwhile
        raise NotFound(f"no subscription {subscription_id} for this authority") from None
    return _out(found[0])
