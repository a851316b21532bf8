"""对接状态 (system administrators): every outside system's health, backlog and last error; dead messages with
replay and skip — the page form of ``/api/v1/integrations``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from xietong.db.base import utcnow
from xietong.integrations import health
from xietong.integrations.archive import service as archiving
from xietong.web.deps import audit, reading, settings_of, writing
from xietong.web.pages.access import PagePrincipal
from xietong.web.pages.rendering import render

router = APIRouter()
STATUS = {"ok": ("正常", "green"), "retrying": ("重试中", "yellow"), "failing": ("有失败消息", "red"),
          "unconfigured": ("未配置", "")}


@router.get("/admin/integrations", include_in_schema=False)
def integrations_page(request: Request, principal: PagePrincipal) -> Response:
    with reading(request) as session:
        report = health.channel_health(session, principal=principal, settings=settings_of(request))
        dead = health.dead_messages(session, principal=principal, limit=100)
        labels = {h.channel: h.label for h in report}
        waiting, waiting_since = archiving.waiting_for_seal(session)
        return render(request, "integrations/health.html", {"report": report, "dead": dead, "status": STATUS,
                                                            "labels": labels, "archive_waiting": waiting,
                                                            "archive_waiting_since": waiting_since})


@router.post("/admin/integrations/messages/{message_id}/{action}", include_in_schema=False)
def replay_or_skip(message_id: int, action: str, request: Request, principal: PagePrincipal) -> Response:
    with writing(request) as session:
        if action not in health.AUDITED:
            return RedirectResponse("/admin/integrations", status_code=303)
        message = health.act(session, principal=principal, message_id=message_id, action=action, now=utcnow())
        audit(session, request, principal, health.AUDITED[action], target_kind="outbound_message", target_id=message.id,
              channel=message.channel)
    return RedirectResponse("/admin/integrations", status_code=303)
