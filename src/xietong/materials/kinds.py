"""The kinds of standing document the catalogue suggests, and how a material's ``shared_kind`` is read."""

from __future__ import annotations

#: Suggested kinds (a unit may also keep documents of a free kind of up to 40 characters).
KINDS: tuple[str, ...] = (
    "统一社会信用代码证",
    "法定代表人身份证明",
    "机构设立批复",
    "授权委托书",
    "事业单位法人证书",
    "组织机构章程",
)
MAX_KIND = 40
#: ``shared_kind`` of a material satisfied by an earlier case's result document (结果复用); ``result:<code>``
#: narrows it to the cases of one base matter.
RESULT = "result"


def clean_kind(kind: str) -> str | None:
    """The kind without surrounding spaces, or None when empty, too long or reserved for results."""
    kind = kind.strip()
    if not kind or len(kind) > MAX_KIND or kind == RESULT or kind.startswith(f"{RESULT}:"):
        return None
    return kind


def result_matter_code(shared_kind: str) -> str | None:
    """For ``result:<code>``, the base matter's code; None for plain ``result`` (any earlier result)."""
    _, _, code = shared_kind.partition(":")
    return code or None
