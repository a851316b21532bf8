"""Safe XML reading for BPMN: defusedxml's parser (no DTD, no entities, no external references) keeping line numbers.

ElementTree drops source positions, so a small tree-builder target records the expat line of every start tag
while the defused parser builds the tree. Problems are reported as :class:`Located` values (element id, tag,
line) and turned into Chinese ``FieldProblem``s by :func:`problem`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import (  # type: ignore[import-untyped]
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)
from defusedxml.ElementTree import DefusedXMLParser  # type: ignore[import-untyped]

from xietong.errors import FieldProblem

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XT = "https://xietong.dev/schema/bpmn/1"
CAMUNDA = "http://camunda.org/schema/1.0/bpmn"
ACTIVITI = "http://activiti.org/bpmn"
FLOWABLE = "http://flowable.org/bpmn"
ZEEBE = "http://camunda.org/schema/zeebe/1.0"

PREFIXES = {
    BPMN: "bpmn",
    BPMNDI: "bpmndi",
    DC: "dc",
    DI: "di",
    XSI: "xsi",
    XT: "xt",
    CAMUNDA: "camunda",
    ACTIVITI: "activiti",
    FLOWABLE: "flowable",
    ZEEBE: "zeebe",
}


def q(namespace: str, local: str) -> str:
    """The ElementTree name ``{namespace}local``."""
    return f"{{{namespace}}}{local}"


def split(tag: str) -> tuple[str, str]:
    """``{ns}local`` → (ns, local); a tag without a namespace has ns ``""``."""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def display(tag: str) -> str:
    """A tag as people write it: ``bpmn:serviceTask`` for the well-known namespaces."""
    namespace, local = split(tag)
    prefix = PREFIXES.get(namespace)
    if prefix:
        return f"{prefix}:{local}"
    return f"{{{namespace}}}{local}" if namespace else local


class _LineTarget:
    """An ElementTree target that records the line of each start tag while building the tree."""

    def __init__(self) -> None:
        self.builder = TreeBuilder()
        self.lines: dict[Element, int] = {}
        self.expat: Any = None

    def start(self, tag: str, attrib: dict[str, str]) -> Element:
        element = self.builder.start(tag, attrib)
        self.lines[element] = int(self.expat.CurrentLineNumber)
        return element

    def end(self, tag: str) -> Element:
        return self.builder.end(tag)

    def data(self, text: str) -> None:
        self.builder.data(text)

    def close(self) -> Element:
        return self.builder.close()


@dataclass(frozen=True)
class Document:
    root: Element
    lines: dict[Element, int]

    def line(self, element: Element) -> int:
        return self.lines.get(element, 0)


@dataclass(frozen=True)
class Located:
    """Where a problem is: the element's id, its tag (``bpmn:userTask``) and its line (0 when unknown)."""

    id: str
    tag: str
    line: int


class UnreadableXml(Exception):
    """The bytes are not a BPMN document we may read; ``problem`` says why, in Chinese."""

    def __init__(self, problem: FieldProblem, location: Located) -> None:
        super().__init__(problem.message)
        self.problem = problem
        self.location = location


def parse(data: bytes) -> Document:
    """Parse ``data`` refusing any DTD, entity declaration or external reference."""
    target = _LineTarget()
    parser = DefusedXMLParser(target=target, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    target.expat = parser.parser
    try:
        parser.feed(data)
        root = parser.close()
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as exc:
        line = int(getattr(parser.parser, "CurrentLineNumber", 0) or 0)
        raise _hostile(exc, line) from None
    except DefusedXmlException as exc:  # any other refusal of defusedxml
        raise _hostile(exc, 0) from None
    except ParseError as exc:
        line = exc.position[0] if exc.position else 0
        where = Located("", "xml", line)
        message = f"第 {line} 行：不是合法的 XML（{_expat_reason(exc)}）"
        raise UnreadableXml(FieldProblem(_field(where), message, "xml_malformed"), where) from None
    except ValueError:  # expat's handler for encodings it cannot decode (GBK, GB18030 …)
        where = Located("", "xml", 1)
        message = "第 1 行：不是合法的 XML（不支持的字符编码，请另存为 UTF-8）"
        raise UnreadableXml(FieldProblem(_field(where), message, "xml_malformed"), where) from None
    return Document(root, target.lines)


def _hostile(exc: Exception, line: int) -> UnreadableXml:
    where = Located("", "xml", line)
    kind = "文档类型定义（DTD）" if isinstance(exc, DTDForbidden) else "实体声明或外部引用"
    message = f"第 {line} 行：出于安全考虑，不接受含{kind}的 XML（BPMN 文件不需要它们）"
    return UnreadableXml(FieldProblem(_field(where), message, "xml_forbidden"), where)


def _expat_reason(exc: ParseError) -> str:
    text = str(exc)
    reason = text.split(":", 1)[0] if ":" in text else text
    reasons = {
        "syntax error": "语法错误",
        "no element found": "文档不完整或为空",
        "mismatched tag": "标签不匹配",
        "not well-formed (invalid token)": "含非法字符",
        "unclosed token": "标记未闭合",
        "undefined entity": "引用了未定义的实体",
        "junk after document element": "根元素之后还有内容",
        "unbound prefix": "使用了未声明的命名空间前缀",
        "unknown encoding": "不支持的字符编码，请另存为 UTF-8",
        "encoding specified in XML declaration is incorrect": "声明的字符编码与内容不符",
    }
    return reasons.get(reason, reason)


def _field(where: Located) -> str:
    return f"{where.tag}#{where.id}" if where.id else where.tag


def problem(where: Located, message: str, code: str) -> FieldProblem:
    """A problem at one element: ``第 12 行 bpmn:serviceTask“Task_1”：…``."""
    name = f"“{where.id}”" if where.id else ""
    prefix = f"第 {where.line} 行 " if where.line else ""
    return FieldProblem(_field(where), f"{prefix}{where.tag}{name}：{message}", code)
