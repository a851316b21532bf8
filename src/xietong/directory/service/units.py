"""Units (单位): the tree kept as a materialised path (``/1/5/12/``), its maintenance on moves, and its queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from xietong.directory.errors import not_found, refused, taken, unknown_reference
from xietong.directory.models import Region, Unit
from xietong.directory.schemas import UnitIn, UnitNode, UnitOut, UnitUpdate
from xietong.directory.service.regions import region_ref
from xietong.errors import Conflict

PATH_MAX = 400  # the width of unit.path
ID_WIDTH = 20  # a 64-bit id and its slash


def create_unit(session: Session, *, data: UnitIn) -> Unit:
    """Add a unit under its parent (or at the top); code and USCC are unique."""
    region = region_ref(session, code=data.region_code)
    parent = _parent_ref(session, data.parent_code, data.parent_id)
    if parent is not None and not parent.active:
        raise refused("unit_parent_inactive", f"上级单位“{parent.name}”已停用，不能在其下新增单位", "parent_code")
    if parent is not None and len(parent.path) + ID_WIDTH > PATH_MAX:
        raise refused("unit_tree_too_deep", "单位层级过深，无法在其下新增单位", "parent_code")
    if unit_by_code(session, code=data.code) is not None:
        raise taken("unit_code", "单位编码", data.code)
    if data.uscc is not None:
        _check_uscc_free(session, data.uscc, owner_id=None)
    unit = Unit(
        code=data.code,
        parent_id=parent.id if parent else None,
        region_id=region.id,
        name=data.name,
        short_name=data.short_name,
        function=data.function,
        uscc=data.uscc,
        sort=data.sort,
        path="/",
    )
    session.add(unit)
    session.flush()  # the path needs the id
    unit.path = _child_path(parent, unit.id)
    session.flush()
    return unit


def update_unit(session: Session, *, unit_id: int, data: UnitUpdate) -> Unit:
    """Rename, re-file or move a unit; a move re-computes the paths of its whole subtree."""
    unit = require_unit(session, unit_id=unit_id)
    if not unit.active:
        raise Conflict(code="unit_inactive", detail=f"单位“{unit.name}”已停用，不能修改")
    given = data.model_fields_set
    for name in ("name", "short_name", "sort"):
        value = getattr(data, name)
        if name in given and value is not None:
            setattr(unit, name, value)
    if "function" in given:
        unit.function = data.function
    if "region_code" in given and data.region_code is not None:
        unit.region_id = region_ref(session, code=data.region_code).id
    if "uscc" in given and data.uscc != unit.uscc:
        if data.uscc is not None:
            _check_uscc_free(session, data.uscc, owner_id=unit.id)
        unit.uscc = data.uscc
    if data.moves:
        _move(session, unit, _parent_ref(session, data.parent_code, data.parent_id))
    session.flush()
    return unit


def deactivate_unit(session: Session, *, unit_id: int) -> int:
    """Stop using a unit and its whole subtree (撤销); returns how many units were deactivated."""
    unit = require_unit(session, unit_id=unit_id)
    count = 0
    for member in session.scalars(select(Unit).where(_in_subtree(unit.path), Unit.active.is_(True))):
        member.active = False
        count += 1
    session.flush()
    return count


def unit_by_id(session: Session, *, unit_id: int) -> Unit | None:
    """The unit with this id, if any."""
    return session.get(Unit, unit_id)


def unit_by_code(session: Session, *, code: str) -> Unit | None:
    """The unit with this code, if any."""
    return session.scalar(select(Unit).where(Unit.code == code))


def subtree(session: Session, *, unit_id: int, include_inactive: bool = False) -> list[Unit]:
    """A unit and everything below it, parents before children."""
    query = select(Unit).where(_in_subtree(require_unit(session, unit_id=unit_id).path))
    if not include_inactive:
        query = query.where(Unit.active.is_(True))
    return sorted(session.scalars(query), key=lambda unit: (unit.path.count("/"), unit.sort, unit.code))


def units_by_region(session: Session, *, region_id: int, include_inactive: bool = False) -> list[Unit]:
    """The units of a region, by sort key and code."""
    query = select(Unit).where(Unit.region_id == region_id).order_by(Unit.sort, Unit.code)
    if not include_inactive:
        query = query.where(Unit.active.is_(True))
    return list(session.scalars(query))


def find_units(session: Session, *, keyword: str, region_id: int | None = None, limit: int = 50) -> list[Unit]:
    """Active units (of one region, or all) whose name, short name or code contains the keyword (e.g. 财政)."""
    keyword = keyword.strip()
    if not keyword:
        return []
    match = or_(*(column.contains(keyword, autoescape=True) for column in (Unit.name, Unit.short_name, Unit.code)))
    query = select(Unit).where(match, Unit.active.is_(True)).order_by(Unit.sort, Unit.code).limit(limit)
    if region_id is not None:
        query = query.where(Unit.region_id == region_id)
    return list(session.scalars(query))


def unit_functions(session: Session) -> list[str]:
    """The functions (职能) units already have, to offer when filing another one."""
    query = select(Unit.function).where(Unit.function.is_not(None)).distinct().order_by(Unit.function)
    return [function for function in session.scalars(query) if function]


def unit_paths(session: Session, *, units: Sequence[Unit]) -> dict[int, str]:
    """Each unit's place in the tree as names from the top (``丽水市财政局 › 预算科``), in one query."""
    ancestors = {int(part) for unit in units for part in unit.path.strip("/").split("/") if part}
    names = dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ancestors))).all()) if ancestors else {}
    return {
        unit.id: " › ".join(names.get(int(part), "?") for part in unit.path.strip("/").split("/") if part)
        for unit in units
    }


def unit_tree(session: Session, *, region_id: int | None = None, include_inactive: bool = False) -> list[UnitNode]:
    """The unit forest (of one region, or all); a unit whose parent is not shown becomes a root."""
    query = select(Unit).order_by(Unit.sort, Unit.code)
    if region_id is not None:
        query = query.where(Unit.region_id == region_id)
    if not include_inactive:
        query = query.where(Unit.active.is_(True))
    units = session.scalars(query).all()
    nodes = [UnitNode.model_validate(out.model_dump()) for out in units_out(session, units=units)]
    by_id = {node.id: node for node in nodes}
    roots = []
    for node in nodes:
        parent = by_id.get(node.parent_id) if node.parent_id is not None else None
        (parent.children if parent else roots).append(node)
    return roots


def units_out(session: Session, *, units: Sequence[Unit]) -> list[UnitOut]:
    """Units as output, with their parent's code and their region's code looked up in two queries."""
    known = {unit.id: unit.code for unit in units}
    wanted = {unit.parent_id for unit in units if unit.parent_id is not None} - known.keys()
    if wanted:
        known.update(session.execute(select(Unit.id, Unit.code).where(Unit.id.in_(wanted))).all())
    region_ids = {unit.region_id for unit in units}
    region_codes = dict(session.execute(select(Region.id, Region.code).where(Region.id.in_(region_ids))).all())
    return [
        UnitOut.model_validate(unit).model_copy(
            update={
                "parent_code": known.get(unit.parent_id) if unit.parent_id is not None else None,
                "region_code": region_codes.get(unit.region_id),
            }
        )
        for unit in units
    ]


def unit_out(session: Session, *, unit_id: int) -> UnitOut:
    """One unit as output; an unknown id is NotFound."""
    return units_out(session, units=[require_unit(session, unit_id=unit_id)])[0]


def require_unit(session: Session, *, unit_id: int) -> Unit:
    """The unit with this id; NotFound otherwise."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise not_found("unit", "单位", unit_id)
    return unit


def _parent_ref(session: Session, code: str | None, unit_id: int | None) -> Unit | None:
    if code is not None:
        parent = unit_by_code(session, code=code)
        if parent is None:
            raise unknown_reference("parent_code", "上级单位", code)
        return parent
    if unit_id is not None:
        found = session.get(Unit, unit_id)
        if found is None:
            raise unknown_reference("parent_id", "上级单位", unit_id)
        return found
    return None


def _check_uscc_free(session: Session, uscc: str, *, owner_id: int | None) -> None:
    holder = session.scalar(select(Unit).where(Unit.uscc == uscc))
    if holder is not None and holder.id != owner_id:
        raise taken("unit_uscc", f"统一社会信用代码（单位“{holder.name}”）", uscc)


def _in_subtree(path: str) -> ColumnElement[bool]:
    # Paths hold only digits and slashes, so the prefix needs no LIKE escaping.
    return Unit.path.startswith(path)


def _child_path(parent: Unit | None, unit_id: int) -> str:
    return f"{parent.path if parent else '/'}{unit_id}/"


def _move(session: Session, unit: Unit, parent: Unit | None) -> None:
    if (parent.id if parent else None) == unit.parent_id:
        return
    if parent is not None and parent.path.startswith(unit.path):
        raise refused("unit_move_into_subtree", f"不能把单位“{unit.name}”移到它自己或它的下级单位之下", "parent_code")
    if parent is not None and not parent.active:
        raise refused("unit_parent_inactive", f"上级单位“{parent.name}”已停用，不能移入", "parent_code")
    old, new = unit.path, _child_path(parent, unit.id)
    members = list(session.scalars(select(Unit).where(_in_subtree(old))))
    if max(len(new) + len(member.path) - len(old) for member in members) > PATH_MAX:
        raise refused("unit_tree_too_deep", "单位层级过深，无法移动", "parent_code")
    for member in members:
        member.path = new + member.path[len(old) :]
    unit.parent_id = parent.id if parent else None
