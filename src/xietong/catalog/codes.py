"""The matter code scheme (事项编码) of local matters: composing, validating and parsing — see docs/matter-codes.md.

A local matter's code is ``{base}-{region}-{unit}-{item:02d}``: the base matter's code, the region's code, the
implementing unit's 统一社会信用代码 (or ``Z`` + its id when it has none; ``Z`` is not a USCC character, so the
two never collide) and a two-digit item that tells apart implementations which would otherwise share a code.
A code is composed once, when the local matter is created, and stored: renaming or reorganising a unit never
changes it. Uniqueness is the database's (``local_matter.code`` is unique).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.catalog.models import LocalMatter
from xietong.directory.models import Region, Unit
from xietong.errors import Conflict, FieldProblem, InvalidInput, NotFound

MAX_LENGTH: int = LocalMatter.__table__.c.code.type.length  # type: ignore[attr-defined]
MAX_ITEM = 99
NO_USCC_PREFIX = "Z"
# GB 32100-2015: 18 characters from digits and upper-case letters other than I, O, Z, S and V.
_USCC = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")
_NO_USCC = re.compile(rf"{NO_USCC_PREFIX}[1-9][0-9]*")
_REGION = re.compile(r"[0-9A-Za-z]{1,12}")
_BASE = re.compile(r"[0-9A-Za-z_.-]{1,40}")  # as the API accepts base codes
_ITEM = re.compile(r"[0-9]{2}")


@dataclass(frozen=True)
class MatterCode:
    """The parts of a local matter code; ``uscc`` is None when the unit part is the ``Z{unit_id}`` fallback."""

    base: str
    region: str
    uscc: str | None
    unit_id: int | None
    item: int

    @property
    def unit_part(self) -> str:
        return self.uscc if self.uscc is not None else f"{NO_USCC_PREFIX}{self.unit_id}"

    def __str__(self) -> str:
        return f"{self.base}-{self.region}-{self.unit_part}-{self.item:02d}"


def local_matter_code(
    base_code: str, region_code: str, unit_uscc: str | None, item: int = 0, *, unit_id: int | None = None
) -> str:
    """The code of a local matter; a unit without a USCC needs ``unit_id`` (code part ``Z{unit_id}``)."""
    problems: list[FieldProblem] = []
    if not _BASE.fullmatch(base_code):
        problems.append(FieldProblem("base_code", f"基本目录编码不符合编码规则：{base_code}", "bad_base_code"))
    if not _REGION.fullmatch(region_code):
        problems.append(FieldProblem("region_code", f"区划代码不符合编码规则：{region_code}", "bad_region_code"))
    if unit_uscc is not None and not _USCC.fullmatch(unit_uscc):
        problems.append(FieldProblem("unit_uscc", f"统一社会信用代码格式不正确：{unit_uscc}", "bad_uscc"))
    if unit_uscc is None and (unit_id is None or unit_id < 1):
        problems.append(FieldProblem("unit_id", "单位没有统一社会信用代码时须给出单位编号", "unit_id_required"))
    if not 0 <= item <= MAX_ITEM:
        problems.append(FieldProblem("item", f"序号应在 0 到 {MAX_ITEM} 之间", "bad_item"))
    if problems:
        raise InvalidInput(code="bad_matter_code", detail="无法生成事项编码", errors=problems)
    code = str(MatterCode(base_code, region_code, unit_uscc, None if unit_uscc else unit_id, item))
    if len(code) > MAX_LENGTH:
        raise InvalidInput(
            code="matter_code_too_long",
            detail=f"事项编码 {code} 超过 {MAX_LENGTH} 个字符，请缩短基本目录编码",
            errors=[FieldProblem("base_code", "基本目录编码过长", "matter_code_too_long")],
        )
    return code


def next_local_matter_code(session: Session, *, base_code: str, region_id: int, handling_unit_id: int) -> str:
    """The scheme's code with the first item not yet taken (a reorganised unit's USCC may already be in use)."""
    region_code = session.scalar(select(Region.code).where(Region.id == region_id))
    unit = session.execute(select(Unit.uscc).where(Unit.id == handling_unit_id)).first()
    if region_code is None or unit is None:
        raise NotFound(code="region_or_unit_not_found", detail="区划或办理单位不存在")
    first = local_matter_code(base_code, region_code, unit.uscc, 0, unit_id=handling_unit_id)
    prefix = first[:-2]
    taken = set(session.scalars(select(LocalMatter.code).where(LocalMatter.code.startswith(prefix, autoescape=True))))
    for item in range(MAX_ITEM + 1):
        if (code := f"{prefix}{item:02d}") not in taken:
            return code
    raise Conflict(code="matter_code_exhausted", detail=f"事项编码 {prefix}00 至 {MAX_ITEM} 均已占用")


def parse_local_matter_code(code: str) -> MatterCode:
    """Split a code of this scheme into its parts; raise InvalidInput (``bad_matter_code``) otherwise."""
    parts = code.rsplit("-", 3)
    if len(parts) == 4 and len(code) <= MAX_LENGTH:
        base, region, unit, item = parts
        if _BASE.fullmatch(base) and _REGION.fullmatch(region) and _ITEM.fullmatch(item):
            if _USCC.fullmatch(unit):
                return MatterCode(base, region, unit, None, int(item))
            if _NO_USCC.fullmatch(unit):
                return MatterCode(base, region, None, int(unit[len(NO_USCC_PREFIX) :]), int(item))
    raise InvalidInput(
        code="bad_matter_code",
        detail=f"事项编码不符合编码规则：{code}",
        errors=[FieldProblem("code", "应为“基本目录编码-区划代码-统一社会信用代码-两位序号”", "bad_matter_code")],
    )


def is_local_matter_code(code: str) -> bool:
    """Whether ``code`` follows the scheme (codes imported from elsewhere may not)."""
    try:
        parse_local_matter_code(code)
    except InvalidInput:
        return False
    return True
