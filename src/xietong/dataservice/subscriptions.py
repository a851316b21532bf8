"""Webhook subscriptions of a client, their delivery history, and the dead-letter list with replay and skip.

Administrators manage them for the clients they administer (``clients.administered_client``). A dead delivery
holds the later deliveries of its (subscription, case) until it is replayed or skipped, so order per case is
never silently broken.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xietong.cases.models import Event
from xietong.dataservice.clients import administered_client, require_dataservice_admin
from xietong.dataservice.models import WebhookDelivery, WebhookSubscription
from xietong.errors import Conflict, InvalidInput, NotFound
from xietong.security.principal import Principal

SECRET_PREFIX = "whsec_"
MAX_EVENT_TYPES = 50


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        raise InvalidInput(code="bad_webhook_url", detail="回调地址须为 http 或 https 地址，且不超过 500 个字符")
    return url.strip()


def _check_types(event_types: Sequence[str]) -> list[str]:
    types = sorted({t.strip() for t in event_types if t.strip()})
    if not types or len(types) > MAX_EVENT_TYPES or any(len(t) > 60 or " " in t for t in types):
        raise InvalidInput(
            code="bad_event_types", detail="事件类型须为 1–50 个，如 case.submitted、task.*，或 * 表示全部"
        )
    return types


def matches(event_types: Sequence[str], event_type: str) -> bool:
    """``*`` is everything, ``case.*`` a prefix, anything else the exact type."""
    return any(
        t == "*" or t == event_type or (t.endswith(".*") and event_type.startswith(t[:-1])) for t in event_types
    )


def create_subscription(
    session: Session, *, principal: Principal, client_pk: int, url: str, event_types: Sequence[str], now: datetime
) -> tuple[WebhookSubscription, str]:
    """Subscribe a client's URL to event types from now on; returns the subscription and its secret (shown once)."""
    client = administered_client(session, principal=principal, client_pk=client_pk)
    if not client.active:
        raise Conflict(code="client_disabled", detail="应用已停用，不能订阅")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    latest = session.scalar(select(func.max(Event.position))) or 0
    subscription = WebhookSubscription(
        client_pk=client.id, url=_check_url(url), event_types=_check_types(event_types), secret=secret,
        active=True, after_position=latest, created_at=now,
    )
    session.add(subscription)
    session.flush()
    return subscription, secret


def administered_subscription(session: Session, *, principal: Principal, subscription_id: int) -> WebhookSubscription:
    subscription = session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFound(code="subscription_not_found", detail="没有这个订阅")
    administered_client(session, principal=principal, client_pk=subscription.client_pk)
    return subscription


def subscriptions_of(session: Session, *, principal: Principal, client_pk: int) -> list[WebhookSubscription]:
    administered_client(session, principal=principal, client_pk=client_pk)
    query = select(WebhookSubscription).where(WebhookSubscription.client_pk == client_pk)
    return list(session.scalars(query.order_by(WebhookSubscription.id)))


def set_active(session: Session, *, principal: Principal, subscription_id: int, active: bool) -> WebhookSubscription:
    """Pause or resume a subscription: paused, its deliveries wait (they are still created, in order)."""
    subscription = administered_subscription(session, principal=principal, subscription_id=subscription_id)
    subscription.active = active
    session.flush()
    return subscription


def history(
    session: Session, *, principal: Principal, subscription_id: int, before_id: int | None, limit: int,
    state: str | None = None,
) -> list[WebhookDelivery]:
    """A subscription's deliveries, newest first (keyset by id)."""
    administered_subscription(session, principal=principal, subscription_id=subscription_id)
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    if state is not None:
        query = query.where(WebhookDelivery.state == state)
    return list(session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))


def _dead(session: Session, principal: Principal, delivery_id: int) -> WebhookDelivery:
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None:
        raise NotFound(code="delivery_not_found", detail="没有这次投递")
    administered_subscription(session, principal=principal, subscription_id=delivery.subscription_id)
    if delivery.state != "dead":
        raise Conflict(code="delivery_not_dead", detail="只有进入死信列表的投递才能重放或跳过")
    return delivery


def replay(session: Session, *, principal: Principal, delivery_id: int, now: datetime) -> WebhookDelivery:
    """Send a dead delivery again from its first attempt; the deliveries it held follow it in order."""
    delivery = _dead(session, principal, delivery_id)
    delivery.state, delivery.attempts, delivery.next_attempt_at = "pending", 0, now
    session.flush()
    return delivery


def skip(session: Session, *, principal: Principal, delivery_id: int) -> WebhookDelivery:
    """Give a dead delivery up for good; the deliveries it held go on."""
    delivery = _dead(session, principal, delivery_id)
    delivery.state = "skipped"
    session.flush()
    return delivery


def dead_letters(session: Session, *, principal: Principal, limit: int = 200) -> list[WebhookDelivery]:
    """Dead deliveries of every subscription this administrator manages, oldest first (each holds its case)."""
    require_dataservice_admin(principal)
    query = select(WebhookDelivery).where(WebhookDelivery.state == "dead").order_by(WebhookDelivery.id)
    found: list[WebhookDelivery] = []
    allowed: dict[int, bool] = {}
    for delivery in session.scalars(query):
        if delivery.subscription_id not in allowed:
            try:
                administered_subscription(session, principal=principal, subscription_id=delivery.subscription_id)
                allowed[delivery.subscription_id] = True
            except NotFound:
                allowed[delivery.subscription_id] = False
        if allowed[delivery.subscription_id]:
            found.append(delivery)
            if len(found) >= limit:
                break
    return found
