"""申请草稿: the application wizard's drafts, kept on the server per person and matter until submitted.

A draft holds what the wizard posted (its ``f.<key>`` values, the applicant unit) and the ids of the files
already uploaded for it, and the matter version it was typed against. Saving replaces the person's draft of
that matter; submitting deletes it in the submission's own transaction. Only its owner reads or changes it.
Drafts are no case and append no event: nothing has been applied for yet."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from xietong.cases.models import ApplicationDraft
from xietong.catalog.models import LocalMatter
from xietong.db.base import utcnow
from xietong.errors import NotFound, TooLarge

MAX_DRAFT_BYTES = 256 * 1024  # a form is text; a bigger post is no draft but an attack on the table


@dataclass(frozen=True)
class DraftSummary:
    id: int
    local_matter_id: int
    matter_name: str
    matter_version_id: int
    updated_at: datetime


def save_draft(
    session: Session, *, person_id: int, local_matter_id: int, matter_version_id: int, applicant_unit_id: int | None,
    values: dict[str, Any], materials: dict[str, list[int]],
) -> ApplicationDraft:
    """Create or replace the person's draft of this matter."""
    if len(json.dumps(values, ensure_ascii=False).encode()) > MAX_DRAFT_BYTES:
        raise TooLarge(code="draft_too_large", detail="草稿内容过多，无法保存；请精简后重试")
    draft = session.scalar(select(ApplicationDraft).where(
        ApplicationDraft.person_id == person_id, ApplicationDraft.local_matter_id == local_matter_id
    ).with_for_update())
    now = utcnow()
    if draft is None:
        draft = ApplicationDraft(person_id=person_id, local_matter_id=local_matter_id, created_at=now,
                                 matter_version_id=matter_version_id, values={}, materials={})
        session.add(draft)
    draft.matter_version_id, draft.applicant_unit_id = matter_version_id, applicant_unit_id
    draft.values, draft.materials, draft.updated_at = values, materials, now
    session.flush()
    return draft


def draft_of(session: Session, *, person_id: int, local_matter_id: int) -> ApplicationDraft | None:
    return session.scalar(select(ApplicationDraft).where(
        ApplicationDraft.person_id == person_id, ApplicationDraft.local_matter_id == local_matter_id))


def drafts_of(session: Session, *, person_id: int, limit: int = 50) -> list[DraftSummary]:
    """The person's drafts, the most recently saved first (the workbench's 我的申请 lists them)."""
    rows = session.execute(
        select(ApplicationDraft.id, ApplicationDraft.local_matter_id, LocalMatter.name,
               ApplicationDraft.matter_version_id, ApplicationDraft.updated_at)
        .join(LocalMatter, LocalMatter.id == ApplicationDraft.local_matter_id)
        .where(ApplicationDraft.person_id == person_id)
        .order_by(ApplicationDraft.updated_at.desc(), ApplicationDraft.id.desc())
        .limit(limit)
    )
    return [DraftSummary(*row) for row in rows]


def discard_draft(session: Session, *, person_id: int, local_matter_id: int, missing_ok: bool = True) -> None:
    """Delete the person's draft of this matter (after submitting, or on request)."""
    gone = session.execute(delete(ApplicationDraft).where(
        ApplicationDraft.person_id == person_id, ApplicationDraft.local_matter_id == local_matter_id))
    if not gone.rowcount and not missing_ok:  # type: ignore[attr-defined]
        raise NotFound(code="draft_not_found", detail="没有这份草稿（可能已提交或已删除）")
