"""/api/v1 webhook administration: subscriptions of a client, delivery history, dead letters, replay and skip."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from xietong.dataservice import subscriptions
from xietong.dataservice.models import WebhookDelivery, WebhookSubscription
from xietong.db.base import utcnow
from xietong.web.bodies import RequestBody
from xietong.web.deps import CurrentPrincipal, audit, reading, writing

router = APIRouter(tags=["数据服务：事件订阅"])


class SubscriptionIn(RequestBody):
    url: str = Field(min_length=8, max_length=500, description="接收事件的 http(s) 地址")
    event_types: list[str] = Field(default_factory=lambda: ["*"], min_length=1, max_length=50,
                                   description="事件类型：case.submitted、task.* 或 *")


class SubscriptionOut(BaseModel):
    id: int
    client_pk: int
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime


class CreatedSubscriptionOut(SubscriptionOut):
    secret: str = Field(description="签名密钥，只在创建时显示一次")


class DeliveryOut(BaseModel):
    id: int
    subscription_id: int
    event_id: int
    case_id: int
    position: int
    event_type: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


def _sub(s: WebhookSubscription) -> SubscriptionOut:
    return SubscriptionOut(id=s.id, client_pk=s.client_pk, url=s.url, event_types=list(s.event_types),
                           active=s.active, created_at=s.created_at)


def _delivery(d: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut.model_validate(d, from_attributes=True)


@router.post("/clients/{client_pk}/subscriptions", status_code=201, summary="为应用订阅事件（密钥只显示一次）")
def subscribe(client_pk: int, body: SubscriptionIn, request: Request, principal: CurrentPrincipal
              ) -> CreatedSubscriptionOut:
    with writing(request) as session:
        sub, secret = subscriptions.create_subscription(
            session, principal=principal, client_pk=client_pk, url=body.url, event_types=body.event_types,
            now=utcnow(),
        )
        audit(session, request, principal, "dataservice.subscription_created", target_kind="webhook_subscription",
              target_id=sub.id, url=sub.url, event_types=sub.event_types)
        out = _sub(sub)
    return CreatedSubscriptionOut(**out.model_dump(), secret=secret)


@router.get("/clients/{client_pk}/subscriptions", summary="应用的事件订阅")
def list_subscriptions(client_pk: int, request: Request, principal: CurrentPrincipal) -> list[SubscriptionOut]:
    with reading(request) as session:
        return [_sub(s) for s in subscriptions.subscriptions_of(session, principal=principal, client_pk=client_pk)]


@router.post("/subscriptions/{subscription_id}/{action}", summary="暂停或恢复订阅（暂停期间事件照常排队）")
def pause_or_resume(subscription_id: int, action: Literal["pause", "resume"], request: Request,
                    principal: CurrentPrincipal) -> SubscriptionOut:
    with writing(request) as session:
        sub = subscriptions.set_active(session, principal=principal, subscription_id=subscription_id,
                                       active=action == "resume")
        audit(session, request, principal, f"dataservice.subscription_{action}d", target_kind="webhook_subscription",
              target_id=sub.id)
        return _sub(sub)


@router.get("/subscriptions/{subscription_id}/deliveries", summary="订阅的投递记录（新的在前）")
def deliveries(
    subscription_id: int, request: Request, principal: CurrentPrincipal,
    before_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    state: Literal["pending", "delivered", "dead", "skipped"] | None = None,
) -> list[DeliveryOut]:
    with reading(request) as session:
        found = subscriptions.history(session, principal=principal, subscription_id=subscription_id,
                                      before_id=before_id, limit=limit, state=state)
        return [_delivery(d) for d in found]


@router.get("/webhooks/dead-letters", summary="死信列表：重试用尽的投递（各自挡住同一办件的后续事件）")
def dead_letters(request: Request, principal: CurrentPrincipal,
                 limit: Annotated[int, Query(ge=1, le=200)] = 200) -> list[DeliveryOut]:
    with reading(request) as session:
        return [_delivery(d) for d in subscriptions.dead_letters(session, principal=principal, limit=limit)]


@router.post("/webhooks/deliveries/{delivery_id}/replay", summary="重放死信（其后被挡住的事件随之按序投递）")
def replay(delivery_id: int, request: Request, principal: CurrentPrincipal) -> DeliveryOut:
    with writing(request) as session:
        delivery = subscriptions.replay(session, principal=principal, delivery_id=delivery_id, now=utcnow())
        audit(session, request, principal, "dataservice.delivery_replayed", target_kind="webhook_delivery",
              target_id=delivery.id)
        return _delivery(delivery)


@router.post("/webhooks/deliveries/{delivery_id}/skip", summary="跳过死信（放弃这一条，后续事件继续投递）")
def skip(delivery_id: int, request: Request, principal: CurrentPrincipal) -> DeliveryOut:
    with writing(request) as session:
        delivery = subscriptions.skip(session, principal=principal, delivery_id=delivery_id)
        audit(session, request, principal, "dataservice.delivery_skipped", target_kind="webhook_delivery",
              target_id=delivery.id)
        return _delivery(delivery)
