"""/api/v1/people/{id}/handover: 人员交接 — preview and hand a person's open work to a successor."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from xietong.cases.service.staff import hand_over, handover_plan
from xietong.web.bodies import RequestBody
from xietong.web.deps import CurrentPrincipal, audit, reading, settings_of, writing

router = APIRouter(tags=["人员交接"])


class HandoverItemOut(BaseModel):
    kind: str = Field(description="task 待办 | order 督办单 | delegation 委托 | draft 草稿")
    id: int
    case_id: int | None
    label: str
    moves: bool = Field(description="是否转交给接手人")
    reason: str | None = Field(None, description="不能转交的原因")
    new_id: int | None = Field(None, description="转交后的新待办 id")


class HandoverIn(RequestBody):
    to_person_id: int
    note: str = Field("", max_length=200)


@router.get("/people/{person_id}/handover", summary="人员交接预览：将转交与不能转交的工作")
def preview(
    person_id: int, to: Annotated[int, Query(description="接手人 id")], request: Request, principal: CurrentPrincipal
) -> list[HandoverItemOut]:
    with reading(request) as session:
        plan = handover_plan(session, principal=principal, from_person_id=person_id, to_person_id=to)
    return [HandoverItemOut(**asdict(item)) for item in plan]


@router.post("/people/{person_id}/handover", summary="人员交接：一次转交其全部待办、督办单、委托和草稿")
def handover(person_id: int, body: HandoverIn, request: Request, principal: CurrentPrincipal) -> list[HandoverItemOut]:
    with writing(request) as session:
        log = hand_over(session, principal=principal, from_person_id=person_id, to_person_id=body.to_person_id,
                        note=body.note, tz=settings_of(request).timezone)
        audit(session, request, principal, "directory.person_handed_over", target_kind="person", target_id=person_id,
              to_person_id=body.to_person_id, items=[asdict(item) for item in log])
    return [HandoverItemOut(**asdict(item)) for item in log]
