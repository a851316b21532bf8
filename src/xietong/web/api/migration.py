"""/api/v1/matters/{id}/migration: move running cases from a faulty version to another — dry run, run, revert."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from xietong.cases.service.migration import migrate_cases, plan_migration, revert_migration
from xietong.web.bodies import RequestBody
from xietong.web.deps import CurrentPrincipal, audit, reading, settings_of, writing

router = APIRouter(tags=["版本迁移"])


class CasePlanOut(BaseModel):
    case_id: int
    number: str
    mappable: bool
    lands: list[str] = Field(description="每个待办在新版本中的落点")
    problems: list[str] = Field(description="不能迁移的原因")


class MigrationIn(RequestBody):
    from_version_id: int
    to_version_id: int
    reason: str = Field(min_length=1, max_length=500)
    case_ids: list[int] | None = Field(None, max_length=10_000, description="只迁移这些办件（空：全部可迁移的）")


class RevertIn(RequestBody):
    from_version_id: int = Field(description="迁移前的版本")
    to_version_id: int = Field(description="迁移到的版本")
    reason: str = Field(min_length=1, max_length=500)


class CaseOutcomeOut(BaseModel):
    case_id: int
    number: str
    migrated: bool
    problems: list[str]


@router.get("/matters/{local_matter_id}/migration", summary="版本迁移预演：每个在办办件的待办落点或不能迁移的原因")
def dry_run(
    local_matter_id: int, request: Request, principal: CurrentPrincipal,
    from_version_id: Annotated[int, Query()], to_version_id: Annotated[int, Query()],
) -> list[CasePlanOut]:
    with reading(request) as session:
        plans = plan_migration(session, principal=principal, local_matter_id=local_matter_id,
                               from_version_id=from_version_id, to_version_id=to_version_id)
    return [CasePlanOut(case_id=p.case_id, number=p.number, mappable=p.mappable, lands=p.lands,
                        problems=p.problems) for p in plans]


@router.post("/matters/{local_matter_id}/migration", summary="版本迁移：逐件各自成交易，不能迁移的保持不变并列出")
def migrate(local_matter_id: int, body: MigrationIn, request: Request, principal: CurrentPrincipal
            ) -> list[CaseOutcomeOut]:
    outcomes = migrate_cases(
        lambda: writing(request), principal=principal, local_matter_id=local_matter_id,
        from_version_id=body.from_version_id, to_version_id=body.to_version_id, reason=body.reason,
        case_ids=body.case_ids, tz=settings_of(request).timezone,
    )
    _audit(request, principal, "catalog.cases_migrated", local_matter_id, body.model_dump(), outcomes)
    return [CaseOutcomeOut(**asdict(o)) for o in outcomes]


@router.post("/matters/{local_matter_id}/migration/revert", summary="撤销版本迁移：把迁移过的办件迁回原版本")
def revert(local_matter_id: int, body: RevertIn, request: Request, principal: CurrentPrincipal
           ) -> list[CaseOutcomeOut]:
    outcomes = revert_migration(
        lambda: writing(request), principal=principal, local_matter_id=local_matter_id,
        from_version_id=body.from_version_id, to_version_id=body.to_version_id, reason=body.reason,
        tz=settings_of(request).timezone,
    )
    _audit(request, principal, "catalog.migration_reverted", local_matter_id, body.model_dump(), outcomes)
    return [CaseOutcomeOut(**asdict(o)) for o in outcomes]


def _audit(request: Request, principal: CurrentPrincipal, action: str, matter_id: int, given: dict, outcomes: list
           ) -> None:
    with writing(request) as session:
        audit(session, request, principal, action, target_kind="local_matter", target_id=matter_id, **given,
              migrated=[o.case_id for o in outcomes if o.migrated],
              left=[o.case_id for o in outcomes if not o.migrated])
