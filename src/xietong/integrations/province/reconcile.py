"""Reconciliation with the provincial platform: what we reported on a day against what the platform confirms.

The platform lists the serials it received on a day (``ProvinceClient.receipts``); we compare them with the
day's ``province`` messages. A record we count as sent but the platform does not list is *unconfirmed* — it is
what an administrator replays; a record still pending or dead has not reached it yet; a serial the platform lists
that we never sent is *unknown* (another system reporting under our app id, or a platform error).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.config import Settings
from xietong.errors import Conflict
from xietong.errors import Unavailable as ServiceUnavailable
from xietong.integrations.channels import Refused, Unavailable
from xietong.integrations.models import OutboundMessage
from xietong.integrations.province.client import client_for, configured
from xietong.integrations.province.follower import CHANNEL, TZ


@dataclass(frozen=True)
class Line:
    serial: str
    table: str
    case_number: str
    state: str
    last_error: str | None = None


@dataclass
class Reconciliation:
    day: date
    confirmed: int = 0
    unconfirmed: list[Line] = field(default_factory=list)  # sent, the platform does not list it
    waiting: list[Line] = field(default_factory=list)  # not sent yet (pending: retrying or queued behind)
    dead: list[Line] = field(default_factory=list)  # refused or out of attempts: an administrator acts
    unknown: list[str] = field(default_factory=list)  # listed by the platform, never sent by us

    @property
    def balanced(self) -> bool:
        return not (self.unconfirmed or self.waiting or self.dead or self.unknown)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), TZ)
    return start, start + timedelta(days=1)


def reconcile(session: Session, day: date, receipts: list[dict[str, Any]]) -> Reconciliation:
    """Compare the messages created on ``day`` (local) with the platform's ``receipts`` of that day."""
    start, end = day_bounds(day)
    messages = session.execute(
        select(OutboundMessage.message_id, OutboundMessage.kind, OutboundMessage.state, OutboundMessage.payload,
               OutboundMessage.last_error)
        .where(OutboundMessage.channel == CHANNEL, OutboundMessage.created_at >= start,
               OutboundMessage.created_at < end)
        .order_by(OutboundMessage.id)
    ).all()
    listed = {str(item.get("serial")) for item in receipts}
    report = Reconciliation(day)
    ours = set()
    for serial, table, state, payload, error in messages:
        ours.add(serial)
        line = Line(serial, table, str(payload.get("record", {}).get("PROJID", "")), state, error)
        if state == "done":
            if serial in listed:
                report.confirmed += 1
            else:
                report.unconfirmed.append(line)
        elif state == "pending":
            report.waiting.append(line)
        elif state == "dead":
            report.dead.append(line)
    # A record of an earlier day sent late shows in the platform's list of the day it arrived: not unknown.
    report.unknown = sorted(s for s in listed - ours if not _ours_elsewhere(session, s))
    return report


def _ours_elsewhere(session: Session, serial: str) -> bool:
    return session.scalar(select(OutboundMessage.id).where(OutboundMessage.message_id == serial)) is not None


def fetch_receipts(settings: Settings, day: date, *, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The platform's list of ``day`` (an HTTP call: make it with no transaction open)."""
    if not configured(settings):
        raise Conflict(code="province_not_configured", detail="尚未配置省政务服务平台对接（XIETONG_PROVINCE_*）")
    try:
        with httpx.Client(timeout=timeout) as http:
            return client_for(http, settings).receipts(day)
    except (httpx.HTTPError, Unavailable) as exc:
        raise ServiceUnavailable(code="province_unavailable", detail=f"省政务服务平台暂时无法访问：{exc}") from exc
    except Refused as exc:
        raise Conflict(code="province_refused", detail=str(exc)) from exc
