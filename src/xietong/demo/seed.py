"""Insert the demo city (regions, units, posts, people, grants, demo credentials) and its catalogue.

Everything is written with Core executemany through a :class:`~xietong.demo.bulk.BulkWriter`;
the ids handed out are returned in :class:`Directory` and :class:`PublishedMatter` records, which
the history generator uses instead of reading the rows back.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from xietong.catalog.forms import FormSchema, Material, check_file_fields, parse_form_schema, parse_materials
from xietong.catalog.models import ProcessDefinition
from xietong.demo.bulk import BulkWriter
from xietong.demo.catalogue import Catalogue, Implementation, Matter
from xietong.demo.city import DEMO_LOGINS, City, RoleGrant
from xietong.engine.definition import CompiledProcess, compile_process, definition_digest
from xietong.security.passwords import hash_password, password_problems

#: The one password of every demo log-in (hashed once: argon2 is slow on purpose).
DEMO_PASSWORD = "Xietong@2026"


@dataclass
class Directory:
    """Ids of the inserted directory, by the demo data's own keys."""

    city: City
    region: dict[str, int] = field(default_factory=dict)  # region code -> id
    unit: dict[str, int] = field(default_factory=dict)  # unit key -> id
    post: dict[tuple[str, str], int] = field(default_factory=dict)  # (department key, post code) -> id
    person: dict[str, int] = field(default_factory=dict)  # person key -> id
    holders: dict[tuple[int, int], list[int]] = field(default_factory=dict)  # (unit id, post id) -> person ids
    logins: list[str] = field(default_factory=list)  # demo usernames that were built


@dataclass(frozen=True)
class PublishedMatter:
    """A local matter with its one published version: what a case of it needs to know."""

    local_id: int
    version_id: int
    base_id: int
    code: str
    name: str
    region_code: str
    region_id: int
    unit_key: str
    handling_unit_id: int
    kind: str
    legal_limit_days: int
    promised_limit_days: int
    matter: Matter
    process: CompiledProcess
    form: FormSchema
    materials: tuple[Material, ...]


def filter_city(city: City, regions: Collection[str] | None) -> City:
    """The city restricted to some regions (the city region row always stays, as the parent)."""
    if regions is None:
        return city
    keep = set(regions)
    units = tuple(u for u in city.units if u.region_code in keep)
    unit_keys = {u.key for u in units}
    people = tuple(p for p in city.people if p.unit_key in unit_keys)
    kept_regions = tuple(r for r in city.regions if r.code in keep or r.parent_code is None)
    return City(kept_regions, units, city.posts, people, city.seed)


def insert_city(writer: BulkWriter, city: City, *, at: datetime) -> Directory:
    """Regions, units with their materialised path, posts, people, memberships, grants, demo credentials."""
    ids = Directory(city=city)
    regions = []
    for region in sorted(city.regions, key=lambda r: r.parent_code is not None):
        ids.region[region.code] = writer.next_id("region")
        parent = ids.region[region.parent_code] if region.parent_code else None
        regions.append(
            {
                "id": ids.region[region.code],
                "code": region.code,
                "code_kind": region.code_kind,
                "name": region.name,
                "short_name": region.short_name,
                "level": region.level,
                "parent_id": parent,
            }
        )
    writer.insert_now("region", regions)
    _insert_units(writer, city, ids)
    _insert_people(writer, city, ids, at)
    return ids


def _insert_units(writer: BulkWriter, city: City, ids: Directory) -> None:
    units, posts = [], []
    for unit in city.units:  # departments come before their offices
        unit_id = ids.unit[unit.key] = writer.next_id("unit")
        parent = ids.unit[unit.parent_key] if unit.parent_key else None
        path = f"/{parent}/{unit_id}/" if parent else f"/{unit_id}/"
        units.append(
            {
                "id": unit_id,
                "code": unit.key,
                "parent_id": parent,
                "region_id": ids.region[unit.region_code],
                "name": unit.name,
                "short_name": unit.short_name,
                "function": unit.function,
                "uscc": unit.uscc,
                "path": path,
                "active": True,
                "sort": unit.sort,
            }
        )
        if unit.kind == "department":
            for post in city.posts:
                ids.post[(unit.key, post.code)] = post_id = writer.next_id("post")
                posts.append({"id": post_id, "unit_id": unit_id, "code": post.code, "name": post.name})
    writer.insert_now("unit", units)
    writer.insert_now("post", posts)


def _insert_people(writer: BulkWriter, city: City, ids: Directory, at: datetime) -> None:
    people, members, grants = [], [], []
    for person in city.people:
        person_id = ids.person[person.key] = writer.next_id("person")
        people.append(
            {
                "id": person_id,
                "employee_code": person.employee_code,
                "username": person.username,
                "name": person.name,
                "phone": person.phone,
                "active": True,
                "created_at": at,
            }
        )
        unit_id = ids.unit[person.unit_key]
        post_id = ids.post[(person.unit_key, person.post_code)] if person.post_code else None
        members.append(_membership(writer, person_id, unit_id, post_id, primary=True))
        if post_id is not None:
            ids.holders.setdefault((unit_id, post_id), []).append(person_id)
        if person.office_key:
            members.append(_membership(writer, person_id, ids.unit[person.office_key], None, primary=False))
        grants += [_grant(writer, ids, person_id, grant, at) for grant in person.roles]
    writer.insert_now("person", people)
    writer.insert_now("membership", members)
    writer.insert_now("role_grant", grants)
    _insert_credentials(writer, city, ids, at)


def _membership(writer: BulkWriter, person_id: int, unit_id: int, post_id: int | None, primary: bool) -> dict[str, Any]:
    return {
        "id": writer.next_id("membership"),
        "person_id": person_id,
        "unit_id": unit_id,
        "post_id": post_id,
        "is_primary": primary,
    }


def _grant(writer: BulkWriter, ids: Directory, person_id: int, grant: RoleGrant, at: datetime) -> dict[str, Any]:
    ref = grant.scope_ref or ""
    return {
        "id": writer.next_id("role_grant"),
        "person_id": person_id,
        "role": grant.role,
        "scope_kind": grant.scope_kind,
        "scope_unit_id": ids.unit[ref] if grant.scope_kind == "unit_subtree" else None,
        "scope_region_id": ids.region[ref] if grant.scope_kind == "region" else None,
        "granted_at": at,
    }


def _insert_credentials(writer: BulkWriter, city: City, ids: Directory, at: datetime) -> None:
    """The demo log-ins' password (hashed once), no forced change: demo mode only."""
    by_username = {p.username: p for p in city.people}
    ids.logins = [u for u in DEMO_LOGINS if u in by_username]
    if not ids.logins:
        return
    assert not password_problems(DEMO_PASSWORD), "the demo password must pass the password rule"
    digest = hash_password(DEMO_PASSWORD)
    rows = [
        {
            "person_id": ids.person[by_username[u].key],
            "password_hash": digest,
            "must_change": False,
            "failed_count": 0,
            "locked_until": None,
            "changed_at": at,
        }
        for u in ids.logins
    ]
    writer.insert_now("credential", rows)


def insert_catalogue(
    writer: BulkWriter, catalogue: Catalogue, ids: Directory, *, at: datetime
) -> list[PublishedMatter]:
    """Process definitions (once per digest), base matters, local matters and one published version each."""
    matters = [m for m in catalogue.matters if any(i.unit_key in ids.unit for i in m.implementations)]
    definitions = _insert_processes(writer, catalogue, {m.process_id for m in matters}, at)
    rows: dict[str, list[dict[str, Any]]] = {"base_matter": [], "local_matter": [], "matter_version": []}
    published = []
    for matter in matters:
        form, materials = _checked_content(matter)
        definition_id, compiled = definitions[matter.process_id]
        base_id = writer.next_id("base_matter")
        rows["base_matter"].append(
            {
                "id": base_id,
                "code": matter.code,
                "name": matter.name,
                "kind": matter.kind,
                "legal_limit_days": matter.legal_limit_days,
                "function": matter.function,
                "legal_basis": matter.legal_basis,
                # The base defines the templates every implementation starts from (and is offered changes of).
                "form_template": matter.form,
                "materials_template": list(matter.materials),
                "process_template": catalogue.processes[matter.process_id],
                "parent_id": None,
                "level": None,
                "created_at": at,
            }
        )
        for impl in (i for i in matter.implementations if i.unit_key in ids.unit):
            local_row, version_row = _local_rows(writer, ids, matter, impl, base_id, definition_id, at)
            rows["local_matter"].append(local_row)
            rows["matter_version"].append(version_row)
            published.append(
                PublishedMatter(
                    local_id=local_row["id"],
                    version_id=version_row["id"],
                    base_id=base_id,
                    code=impl.code,
                    name=impl.name,
                    region_code=impl.region_code,
                    region_id=local_row["region_id"],
                    unit_key=impl.unit_key,
                    handling_unit_id=local_row["handling_unit_id"],
                    kind=matter.kind,
                    legal_limit_days=matter.legal_limit_days,
                    promised_limit_days=impl.promised_limit_days,
                    matter=matter,
                    process=compiled,
                    form=form,
                    materials=materials,
                )
            )
    for table, values in rows.items():
        writer.insert_now(table, values)
    return published


def _local_rows(
    writer: BulkWriter,
    ids: Directory,
    matter: Matter,
    impl: Implementation,
    base_id: int,
    definition_id: int,
    at: datetime,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``local_matter`` row of an implementation and its one published ``matter_version``."""
    local_id = writer.next_id("local_matter")
    local = {
        "id": local_id,
        "base_matter_id": base_id,
        "code": impl.code,
        "name": impl.name,
        "region_id": ids.region[impl.region_code],
        "handling_unit_id": ids.unit[impl.unit_key],
        "status": "published",
        "lineage_key": impl.code,
        "created_at": at,
    }
    version = {
        "id": writer.next_id("matter_version"),
        "local_matter_id": local_id,
        "number": 1,
        "status": "published",
        "kind": matter.kind,
        "legal_limit_days": matter.legal_limit_days,
        "promised_limit_days": impl.promised_limit_days,
        "yellow_days": None,
        "yellow_ratio": None,
        "form_schema": matter.form,
        "materials": matter.materials,
        "process_definition_id": definition_id,
        "situations": None,
        "created_at": at,
        "published_at": at,
        "retired_at": None,
    }
    return local, version


def _insert_processes(
    writer: BulkWriter, catalogue: Catalogue, used: set[str], at: datetime
) -> dict[str, tuple[int, CompiledProcess]]:
    """Template id -> (definition row id, compiled process); a body already stored is reused."""
    digests = {pid: definition_digest(body) for pid, body in catalogue.processes.items() if pid in used}
    table = ProcessDefinition.__table__
    existing = dict(
        writer.conn.execute(select(table.c.digest, table.c.id).where(table.c.digest.in_(set(digests.values())))).all()
    )
    rows, result = [], {}
    for pid, digest in digests.items():
        body = catalogue.processes[pid]
        if digest not in existing:
            existing[digest] = writer.next_id("process_definition")
            rows.append({"id": existing[digest], "digest": digest, "body": body, "created_at": at})
        result[pid] = (existing[digest], compile_process(body))
    writer.insert_now("process_definition", rows)
    return result


def _checked_content(matter: Matter) -> tuple[FormSchema, tuple[Material, ...]]:
    """The parsed form and materials, checked the way ``catalog.service.draft_version`` checks them."""
    form, materials = parse_form_schema(matter.form), parse_materials(matter.materials)
    problems = check_file_fields(form, materials)
    if problems or (matter.kind == "promised" and matter.promised_limit_days > matter.legal_limit_days):
        raise ValueError(f"demo matter {matter.code} is invalid: {problems}")
    return form, tuple(materials)
