"""The unit picker (选择单位) of the administration forms: an htmx search over the units an administrator covers —
keyword over name, short name and code, a region filter, each unit shown with its place in the tree — and the
post select filled from the chosen unit's posts. It is the colleague picker's pattern (``cases/fields/_picker.html``)
for units. Without JavaScript the form's 查找 button posts the whole form, which comes back with the same rows
(``unit_choices``) and nothing typed lost."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from xietong.directory import service as directory
from xietong.errors import Forbidden, InvalidInput
from xietong.security.permissions import administers_some, may_administer_unit
from xietong.security.principal import Principal
from xietong.web.deps import reading
from xietong.web.pages.access import PagePrincipal
from xietong.web.pages.rendering import render

router = APIRouter()
FIELD = re.compile(r"^[a-z][a-z0-9-]{0,15}$")  # the form field prefix the rows are named by
AREAS = {"directory": "单位与人员", "accounts": "账号与授权"}
SHOWN = 20  # rows per search; a keyword narrows it
SCANNED = 200  # matches looked at before the coverage filter


@dataclass(frozen=True)
class UnitChoice:
    id: int
    code: str
    name: str
    path: str  # names from the top of the tree
    region_id: int


def require_picker_area(principal: Principal, area: str) -> None:
    if area not in AREAS or principal.kind != "person" or not administers_some(principal, area):
        raise Forbidden(code="not_admin", detail="只有相应的管理员可以选择单位")


def choices_of(session: Session, units: list[Any]) -> list[UnitChoice]:
    paths = directory.unit_paths(session, units=units)
    return [UnitChoice(u.id, u.code, u.name, paths[u.id], u.region_id) for u in units]


def unit_choice(session: Session, unit_id: int | None) -> UnitChoice | None:
    """The chosen unit as a picker row (None when nothing is chosen or the unit is gone)."""
    unit = directory.unit_by_id(session, unit_id=unit_id) if unit_id else None
    return choices_of(session, [unit])[0] if unit is not None else None


def unit_choices(session: Session, principal: Principal, area: str, *, keyword: str = "",
                 region_id: int | None = None, chosen: UnitChoice | None = None) -> list[UnitChoice]:
    """Active units matching ``keyword`` (all of the region's without one) that ``principal`` administers in
    ``area``, the chosen one first; nothing without a keyword or a region."""
    keyword = keyword.strip()
    if keyword:
        found = directory.find_units(session, keyword=keyword, region_id=region_id, limit=SCANNED)
    elif region_id is not None:
        found = directory.units_by_region(session, region_id=region_id)[:SCANNED]
    else:
        found = []
    covered = [u for u in found if may_administer_unit(principal, area, u)][:SHOWN]
    rows = choices_of(session, covered)
    if chosen is not None:
        rows = [chosen, *(row for row in rows if row.id != chosen.id)]
    return rows


def regions_of(session: Session) -> list[tuple[int, str]]:
    return [(region.id, region.name) for region in directory.regions(session)]


def post_options(session: Session, unit_id: int | None) -> list[tuple[str, str]]:
    """The posts one may take in a unit, as (code, name); none chosen means a plain member."""
    if unit_id is None:
        return []
    return [(post.code, post.name) for post in directory.posts_of(session, unit_id=unit_id)]


def _field(field: str) -> str:
    if not FIELD.match(field):
        raise InvalidInput(code="bad_field", detail="选择器参数不正确")
    return field


@router.get("/admin/units/picker", include_in_schema=False)
def picker_rows(request: Request, principal: PagePrincipal, field: Annotated[str, Query(max_length=16)],
                area: Annotated[str, Query(max_length=20)], posts: bool = False) -> Response:
    """The picker's rows (htmx): the search box and the region filter send ``<field>-q`` and ``<field>-region``."""
    require_picker_area(principal, area)
    field = _field(field)
    q = request.query_params.get(f"{field}-q", "")[:50]
    region = request.query_params.get(f"{field}-region", "")
    region_id = int(region) if region.isascii() and region.isdigit() and len(region) <= 18 else None
    picked_id = request.query_params.get(f"{field}-unit", "")
    chosen = int(picked_id) if picked_id.isascii() and picked_id.isdigit() and len(picked_id) <= 18 else None
    with reading(request) as session:
        picked = unit_choice(session, chosen)
        rows = unit_choices(session, principal, area, keyword=q, region_id=region_id, chosen=picked)
    context = {"field": field, "choices": rows, "chosen_id": chosen, "searched": bool(q.strip() or region_id),
               "with_posts": posts}
    return render(request, "admin/_unit_rows.html", context, partial=True)


@router.get("/admin/units/{unit_id}/post-options", include_in_schema=False)
def post_select(unit_id: int, request: Request, principal: PagePrincipal,
                selected: Annotated[str, Query(max_length=40)] = "") -> Response:
    """The options of the post select for the chosen unit (htmx swaps them into the select)."""
    require_picker_area(principal, "directory")
    with reading(request) as session:
        unit = directory.require_unit(session, unit_id=unit_id)
        if not may_administer_unit(principal, "directory", unit):
            raise Forbidden(code="not_directory_admin", detail="只有该范围的系统管理员可以在这个单位安排任职")
        options = post_options(session, unit.id)
    return render(request, "admin/_post_options.html", {"posts": options, "selected": selected}, partial=True)
