"""What every demo case needs while it is generated: the clock, the directory's ids, the assigner, materials.

:class:`CachedAssigner` wraps the engine's real :class:`~xietong.engine.assignment.DirectoryAssigner`
and remembers its answers per rule and case placement (region, handling unit and, for rules that
name it, the applicant unit), which is exact while no delegation exists — so it is used only when
the ``delegation`` table is empty, as it is in a fresh demo database.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from xietong.catalog.forms import Material
from xietong.clock.calendar import WorkCalendar
from xietong.clock.due import due_at, working_days_used
from xietong.demo.city import Person
from xietong.demo.forms import Applicant, FormFiller
from xietong.demo.samples import Sample, sample_for, samples
from xietong.demo.seed import Directory
from xietong.demo.timeline import OfficeClock
from xietong.directory.models import Delegation
from xietong.engine.definition import CompiledProcess
from xietong.engine.schema import ApplicantLeaderRule, ApplicantUnitRef, ExpressionRule, PostRule, PostsRule
from xietong.engine.state import Assigner, CaseView, Slot


class CachedAssigner:
    """The directory assigner with its answers remembered (exact while there are no delegations)."""

    def __init__(self, inner: Assigner) -> None:
        self.inner: Assigner | None = inner
        self._memo: dict[tuple[Any, ...], list[Slot]] = {}
        self._keep: list[Any] = []  # rules whose id() is part of a key stay alive

    def slots(self, node_id: str, rule: Any, case: CaseView, *, multi: bool, now: datetime) -> list[Slot]:
        applicant = case.applicant_unit_id if _names_applicant(rule) else None
        key = (id(rule), multi, case.region_id, case.handling_unit_id, applicant)
        found = self._memo.get(key)
        if found is None or isinstance(rule, ExpressionRule):  # an expression reads the form: never cached
            if self.inner is None:
                raise RuntimeError(f"demo assignment of step {node_id} was not looked up before the workers started")
            found = self.inner.slots(node_id, rule, case, multi=multi, now=now)
            if not isinstance(rule, ExpressionRule):
                self._memo[key] = found
                self._keep.append(rule)
        return list(found)

    def freeze(self) -> None:
        """Answer from memory only from now on (in a worker process, which must not use the database)."""
        self.inner = None


def _names_applicant(rule: Any) -> bool:
    if isinstance(rule, ApplicantLeaderRule):
        return True
    if isinstance(rule, PostRule):
        return isinstance(rule.unit, ApplicantUnitRef)
    if isinstance(rule, PostsRule):
        return any(isinstance(u, ApplicantUnitRef) for u in rule.units)
    return False


_FORM_REF = re.compile(r"\bform\.([A-Za-z_][A-Za-z0-9_]*)")


def _form_keys(process: CompiledProcess) -> frozenset[str] | None:
    """The form fields a process's conditions name; None when an expression rule may read any of them."""
    keys: set[str] = set()
    for node in process.nodes.values():
        if isinstance(node.assign, ExpressionRule):
            return None
        for flow in node.outgoing:
            if flow.condition and "form" in flow.condition:
                named = _FORM_REF.findall(flow.condition)
                if not named or re.search(r"\bform\b(?!\.)", flow.condition):
                    return None  # the form used as a whole
                keys.update(named)
    return frozenset(keys)


def assigner_for(conn: Connection, inner: Assigner) -> Assigner:
    """The cached assigner when no delegation exists, else the directory assigner itself."""
    delegations = conn.execute(select(func.count()).select_from(Delegation)).scalar_one()
    return inner if delegations else CachedAssigner(inner)


@dataclass
class Context:
    """Shared by every case of one build."""

    as_of: datetime
    calendar: WorkCalendar
    clock: OfficeClock
    ids: Directory
    assigner: Assigner
    next_id: Callable[[str], int]
    unit_names: dict[str, str] = field(default_factory=dict)
    unit_shorts: dict[str, str] = field(default_factory=dict)
    handlers: dict[str, list[int]] = field(default_factory=dict)  # department key -> clerk ids
    names: list[str] = field(default_factory=list)
    # 减材料: (unit id, kind) -> that unit's current shared version (``demo.materials``), linked by its cases
    shared: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    _dues: dict[tuple[date, int, bool], datetime] = field(default_factory=dict)
    _used: dict[tuple[date, date, int], int] = field(default_factory=dict)
    _form_keys: dict[str, frozenset[str] | None] = field(default_factory=dict)
    _checked: set[int] = field(default_factory=set)

    @classmethod
    def build(
        cls,
        *,
        as_of: datetime,
        calendar: WorkCalendar,
        clock: OfficeClock,
        ids: Directory,
        assigner: Assigner,
        next_id: Callable[[str], int],
    ) -> Context:
        ctx = cls(as_of, calendar, clock, ids, assigner, next_id)
        for unit in ids.city.units:
            ctx.unit_names[unit.key], ctx.unit_shorts[unit.key] = unit.name, unit.short_name
        for person in ids.city.people:
            if person.post_code == "clerk":
                ctx.handlers.setdefault(person.unit_key, []).append(ids.person[person.key])
        ctx.names = sorted({p.name for p in ids.city.people})
        return ctx

    def due(self, accepted_at: datetime, limit_days: int, immediate: bool = False) -> datetime:
        """``clock.due_at``, remembered per local acceptance date (the only thing of the instant it reads)."""
        key = (self.calendar.local_date(accepted_at), limit_days, immediate)
        found = self._dues.get(key)
        if found is None:
            found = self._dues[key] = due_at(accepted_at, limit_days, self.calendar, immediate=immediate)
        return found

    def working_days(self, start: datetime, end: datetime, paused_days: int = 0) -> int:
        """``clock.working_days_used`` as the operations call it (``end`` no earlier than ``start``), remembered
        per pair of local dates — the only thing of the two instants it reads."""
        end = max(end, start)
        key = (self.calendar.local_date(start), self.calendar.local_date(end), paused_days)
        found = self._used.get(key)
        if found is None:
            found = self._used[key] = working_days_used(start, end, self.calendar, paused_days)
        return found

    def engine_form(self, process: CompiledProcess, form: dict[str, Any]) -> dict[str, Any]:
        """The part of the form the process's conditions read (all of it if an assignment rule reads it).

        The engine reads ``CaseView.form`` only in gateway conditions and expression rules, and never
        writes it back, so a view holding just those fields decides exactly as the full form would —
        while converting the whole form for CEL at every gateway would cost more than the rest of a case.
        """
        if process.digest not in self._form_keys:
            self._form_keys[process.digest] = _form_keys(process)
        keys = self._form_keys[process.digest]
        return dict(form) if keys is None else {k: form[k] for k in keys if k in form}

    def first_form(self, version_id: int) -> bool:
        """True the first time a form of this matter version is filled (that one is validated)."""
        first = version_id not in self._checked
        self._checked.add(version_id)
        return first

    def applicant(self, person: Person) -> Applicant:
        """The applicant as the form filler sees them."""
        key = person.unit_key
        return Applicant(self.unit_names[key], self.unit_shorts[key], person.name, person.phone)

    def filler(self, rng: random.Random) -> FormFiller:
        return FormFiller(rng, self.names)

    def attach(
        self, case_id: int, materials: tuple[Material, ...], uploader: int, at: datetime, rng: random.Random,
        *, unit_id: int | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, list[int]]]:
        """Attachment rows for the required materials (and some optional ones), uploaded just before ``at``; a
        material the unit's shared document satisfies links that version's file instead (减材料)."""
        rows, by_code = [], {}
        for material in materials:
            if not material.required and rng.random() >= 0.3:
                continue
            attachment_id = self.next_id("attachment")
            uploaded_at = at - timedelta(minutes=rng.randint(2, 30))
            linked = self.shared.get((unit_id or 0, material.shared_kind or ""))
            if linked is not None and linked["uploaded_at"] < uploaded_at:
                rows.append({**linked["row"], "id": attachment_id, "case_id": case_id, "material_code": material.code,
                             "uploaded_by_id": uploader, "uploaded_at": uploaded_at})
                by_code[material.code] = [attachment_id]
                continue
            sample: Sample = sample_for(material.formats)
            rows.append(
                {
                    "id": attachment_id,
                    "case_id": case_id,
                    "blob_sha256": sample.sha256,
                    "filename": f"{material.name}.{sample.ext}",
                    "content_type": sample.content_type,
                    "size": len(sample.content),
                    "material_code": material.code,
                    "uploaded_by_id": uploader,
                    "uploaded_by_client_id": None,
                    "uploaded_at": uploaded_at,
                    "shared_version_id": None,
                    "source_document_id": None,
                }
            )
            by_code[material.code] = [attachment_id]
        return rows, by_code


def blob_rows(at: datetime) -> list[dict[str, Any]]:
    """The ``blob`` rows of the sample files (kept in the database: no file store needed)."""
    return [
        {
            "sha256": s.sha256,
            "size": len(s.content),
            "content_type": s.content_type,
            "storage": "db",
            "content": s.content,
            "created_at": at,
        }
        for s in samples().values()
    ]
