"""Errors the engine raises: a definition that cannot run, a condition that cannot be decided."""

from __future__ import annotations

from xietong.errors import Conflict, FieldProblem, InvalidInput


class ProcessDefinitionError(InvalidInput):
    """The process definition breaks the schema or cannot run; ``errors`` names every problem."""

    default_title = "流程定义有误"

    @classmethod
    def of(cls, problems: list[FieldProblem]) -> ProcessDefinitionError:
        summary = "；".join(p.message for p in problems[:5])
        return cls(
            code="process_definition_invalid", detail=f"流程定义有 {len(problems)} 处问题：{summary}", errors=problems
        )


class RoutingError(Conflict):
    """The process cannot move on: no condition matched, an expression failed, nobody to assign."""

    default_title = "流程无法流转"
