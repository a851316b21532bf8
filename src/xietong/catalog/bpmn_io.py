"""BPMN 2.0 in and out of the matter library: a process body from an uploaded file, a version's process as BPMN."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.catalog.models import MatterVersion, ProcessDefinition
from xietong.engine.bpmn import export_bpmn, import_bpmn
from xietong.engine.definition import compile_process
from xietong.errors import NotFound, TooLarge

MAX_BPMN_BYTES = 2 * 1024 * 1024


def process_from_bpmn(data: bytes) -> dict[str, Any]:
    """A compiled-clean ``xietong.process/1`` body from a BPMN file (at most 2 MB); raises on any problem."""
    if len(data) > MAX_BPMN_BYTES:
        raise TooLarge(
            code="bpmn_too_large",
            detail=f"BPMN 文件过大（{len(data)} 字节），上限为 {MAX_BPMN_BYTES // (1024 * 1024)} MB",
            extra={"limit": MAX_BPMN_BYTES, "size": len(data)},
        )
    body = import_bpmn(data)
    compile_process(body)
    return body


def bpmn_of_version(session: Session, version_id: int) -> bytes:
    """The process of one matter version as a BPMN 2.0 document."""
    body = session.scalar(
        select(ProcessDefinition.body)
        .join(MatterVersion, MatterVersion.process_definition_id == ProcessDefinition.id)
        .where(MatterVersion.id == version_id)
    )
    if body is None:
        raise NotFound(code="version_not_found", detail="事项版本不存在")
    return export_bpmn(body)
