"""BPMN 2.0 import and export of ``xietong.process/1`` definitions (the supported subset; see docs/bpmn.md).

``export_bpmn`` writes standard BPMN plus xietong's extras in the ``xt`` namespace and a DI diagram;
``import_bpmn`` reads our own exports and what Camunda Modeler, bpmn-js, Flowable and Signavio write within
the subset, parsing with defusedxml (no DTD, entities or external references) and naming every problem
with the element's id, tag and line. Export then import is lossless up to :func:`canonical_process`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element

from xietong.engine.bpmn.export import export_bpmn
from xietong.engine.bpmn.reading import Reader
from xietong.engine.bpmn.xml import Located, UnreadableXml, display, parse, problem
from xietong.engine.definition import compile_process
from xietong.engine.errors import ProcessDefinitionError
from xietong.engine.schema import ProcessSpec
from xietong.errors import FieldProblem

__all__ = ["canonical_process", "export_bpmn", "import_bpmn"]

_INDEXED = re.compile(r"^(?P<kind>nodes|flows)\[(?P<index>\d+)\]")
_NAMED = re.compile(r"^(?P<kind>nodes|flows)\.(?P<id>[^.\[]+)")


def import_bpmn(data: bytes) -> dict[str, Any]:
    """A compiled-clean ``xietong.process/1`` body from BPMN XML; raises ProcessDefinitionError naming each problem."""
    try:
        document = parse(data)
    except UnreadableXml as exc:
        raise _error([exc.problem], [exc.location]) from None
    reader = Reader(document)
    body = reader.read()
    if reader.problems:
        raise _error(reader.problems, reader.locations)
    try:
        compile_process(body)
    except ProcessDefinitionError as exc:
        raise _relocated(exc.errors, reader) from None
    return body


def canonical_process(body: Mapping[str, Any]) -> dict[str, Any]:
    """The normal form two bodies are compared in: validated, defaults dropped, numbers as floats."""
    return ProcessSpec.model_validate(body).model_dump(by_alias=True, exclude_defaults=True)


def _error(problems: list[FieldProblem], locations: list[Located]) -> ProcessDefinitionError:
    summary = "；".join(p.message for p in problems[:5])
    return ProcessDefinitionError(
        code="bpmn_invalid",
        detail=f"BPMN 文件有 {len(problems)} 处问题：{summary}",
        errors=problems,
        extra={"locations": [{"id": w.id, "tag": w.tag, "line": w.line} for w in locations]},
    )


def _relocated(errors: list[FieldProblem], reader: Reader) -> ProcessDefinitionError:
    """The compiler's problems (paths such as ``nodes[3].assign``) moved onto the BPMN elements they concern."""
    problems: list[FieldProblem] = []
    locations: list[Located] = []
    for error in errors:
        element = _element_of(error.field, reader)
        where = (
            Located(element.get("id", ""), display(element.tag), reader.doc.line(element))
            if element is not None
            else Located("", "bpmn:process", 0)
        )
        problems.append(problem(where, error.message, error.code))
        locations.append(where)
    return _error(problems, locations)


def _element_of(path: str, reader: Reader) -> Element | None:
    indexed = _INDEXED.match(path)
    if indexed:
        elements = reader.node_elements if indexed["kind"] == "nodes" else reader.flow_elements
        index = int(indexed["index"])
        return elements[index] if index < len(elements) else reader.process
    named = _NAMED.match(path)
    if named:
        elements = reader.node_elements if named["kind"] == "nodes" else reader.flow_elements
        return next((e for e in elements if e.get("id") == named["id"]), reader.process)
    return reader.process
