"""/api/v1/notifications/channels: which channels the logged-in person gets notifications on (in-app always)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from xietong.errors import Forbidden
from xietong.integrations.messaging import preferences
from xietong.security.principal import Principal
from xietong.web.bodies import RequestBody
from xietong.web.deps import CurrentPrincipal, reading, writing

router = APIRouter(prefix="/notifications/channels", tags=["通知"])


class Channels(BaseModel):
    in_app: bool = True  # always on: it cannot be switched off
    messaging: bool


class ChannelsIn(RequestBody):
    messaging: bool


def _person_id(principal: Principal) -> int:
    if principal.kind != "person" or principal.id is None:
        raise Forbidden(code="not_a_person", detail="只有人员有通知")
    return principal.id


@router.get("", summary="我的通知渠道（站内通知总是开启；浙政钉消息可开关）")
def get_channels(request: Request, principal: CurrentPrincipal) -> Channels:
    with reading(request) as session:
        return Channels(messaging=preferences.messaging_enabled(session, person_id=_person_id(principal)))


@router.put("", summary="开启或关闭浙政钉消息")
def put_channels(body: ChannelsIn, request: Request, principal: CurrentPrincipal) -> Channels:
    with writing(request) as session:
        enabled = preferences.set_messaging(session, principal=principal, person_id=_person_id(principal),
                                            enabled=body.messaging)
        return Channels(messaging=enabled)
