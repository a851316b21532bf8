"""Tests of the demo loader: a small demo (one county, 300 cases) built into a database of its own.

The build commits, so it never touches the shared worker database: SQLite gets a file under the
test's temporary directory, PostgreSQL (``XIETONG_TEST_DATABASE_URL``) a database created for the
module and dropped afterwards. The history is played in forked workers there; a second, serial
build into a SQLite file must come out the same.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.conftest import own_database
from xietong.cases.enums import OPEN_STATUSES, CaseStatus
from xietong.cases.models import Attachment, Case, CaseParty, Event
from xietong.catalog.forms import parse_form_schema, validate_form
from xietong.catalog.models import LocalMatter, MatterLineage, MatterVersion
from xietong.clock.cards import Card, card_for
from xietong.config import Settings
from xietong.db import migrate
from xietong.db.engine import create_db_engine
from xietong.db.session import read_only
from xietong.demo.load import DemoSummary, load_demo, reference_instant
from xietong.demo.seed import DEMO_PASSWORD
from xietong.directory.models import Membership, Person, Post
from xietong.engine.models import Scope, Task
from xietong.security.models import Credential
from xietong.security.passwords import verify_password
from xietong.system.calendar import work_calendar
from xietong.system.models import Counter as CounterRow
from xietong.system.models import SystemSetting

DAY = date(2026, 11, 25)  # fixed, so the demo under test is the same every day
REGION = "331121"  # 青田县
CASES = 300
PG_ENV = "XIETONG_TEST_DATABASE_URL"
CLOSED = {"concluded", "archived", "rejected", "withdrawn"}
RUNNING = {"accepted", "in_progress", "supplementing"}


@dataclass
class Built:
    engine: Engine
    settings: Settings
    summary: DemoSummary


def _build(url: str, data_dir: Path, *, fork: bool) -> Built:
    settings = Settings(database_url=url, data_dir=data_dir, demo=True)
    engine = create_db_engine(settings)
    migrate.upgrade(engine)
    summary = load_demo(engine, settings, cases=CASES, regions=[REGION], today=DAY, fork=fork)
    return Built(engine, settings, summary)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    tmp = tmp_path_factory.mktemp("demo")
    with own_database("demo", tmp) as url:
        result = _build(url, tmp, fork=True)
        yield result
        result.engine.dispose()


@pytest.fixture
def db(built: Built) -> Iterator[Session]:
    """A read-only session on the demo database (it never holds SQLite's write lock)."""
    with read_only(built.engine) as session:
        yield session


def _cases(db: Session) -> list[Case]:
    return list(db.scalars(select(Case).order_by(Case.id)))


# -- what was built ---------------------------------------------------------------------------------


def test_every_status_is_there(built: Built, db: Session) -> None:
    statuses = Counter(c.status for c in _cases(db))
    assert sum(statuses.values()) == CASES
    wanted = {"submitted", "supplementing", "concluded", "archived", "rejected", "withdrawn"}
    assert wanted <= set(statuses), statuses
    assert statuses["accepted"] + statuses["in_progress"] >= 3
    results = Counter(c.result for c in _cases(db) if c.status in ("concluded", "archived") and c.result)
    assert results["granted"] > results["denied"] > 0
    assert built.summary.built and built.summary.statuses["submitted"] == statuses["submitted"]
    assert built.summary.counts["cases"] == CASES


def test_open_cases_have_open_tasks_held_by_real_people(db: Session) -> None:
    holders = {(m.unit_id, m.post_id) for m in db.scalars(select(Membership).where(Membership.post_id.is_not(None)))}
    posts = {(p.unit_id, p.id) for p in db.scalars(select(Post))}
    people = set(db.scalars(select(Person.id).where(Person.active.is_(True))))
    open_tasks: dict[int, list[Task]] = {}
    for task in db.scalars(select(Task).where(Task.state == "open")):
        open_tasks.setdefault(task.case_id, []).append(task)
    for case in _cases(db):
        tasks = open_tasks.get(case.id, [])
        if case.status in RUNNING:
            assert tasks, f"open case {case.number} ({case.status}) has no open task"
        else:
            assert not tasks, f"case {case.number} ({case.status}) still has open tasks"
        for task in tasks:
            if task.assignee_id is not None:
                assert task.assignee_id in people
            else:
                assert (task.unit_id, task.post_id) in posts and (task.unit_id, task.post_id) in holders


def test_engine_state_is_consistent(db: Session) -> None:
    scopes: dict[int, list[Scope]] = {}
    for scope in db.scalars(select(Scope)):
        scopes.setdefault(scope.case_id, []).append(scope)
    active_scopes = {s.id for group in scopes.values() for s in group if s.state == "active"}
    for task in db.scalars(select(Task).where(Task.state == "open")):
        assert task.scope_id in active_scopes, f"task {task.id} is open in a closed scope"
    for case in _cases(db):
        mine = scopes.get(case.id, [])
        roots = [s for s in mine if s.kind == "process"]
        if case.process_state == "not_started":
            assert not mine and case.status in ("submitted", "rejected", "withdrawn", "archived")
        elif case.process_state == "running":
            assert [s.state for s in roots] == ["active"]
        else:
            assert case.process_state == "finished" and not [s for s in mine if s.state == "active"]
            assert [s.outcome for s in roots] == ["end"]
        assert case.scope_seq == max((s.generation for s in mine), default=0)
        for scope in mine:
            if scope.kind == "parallel" and scope.state == "completed":
                assert scope.arrived == scope.expected


def test_times_follow_each_other_and_stop_at_the_reference(built: Built, db: Session) -> None:
    as_of = reference_instant(DAY, built.settings.timezone)
    for case in _cases(db):
        assert case.submitted_at is not None
        moments = [case.submitted_at, case.accepted_at, case.concluded_at, case.archived_at]
        present = [m for m in moments if m is not None]
        assert present == sorted(present) and present[-1] < as_of, case.number
        if case.status in ("accepted", "in_progress"):
            assert case.due_at is not None and case.accepted_at is not None
    times = db.execute(select(Event.case_id, Event.seq, Event.at).order_by(Event.case_id, Event.seq)).all()
    for (case_a, _, at_a), (case_b, _, at_b) in itertools.pairwise(times):
        assert case_a != case_b or at_a <= at_b
    assert max(t.at for t in times) < as_of


def test_event_chains_verify_and_replay_to_the_stored_state(db: Session) -> None:
    replay = pytest.importorskip("xietong.cases.replay")
    for case in _cases(db):
        events = replay.load_events(db, case.id)
        assert len(events) == case.event_seq and events[-1].hash == case.last_event_hash
        assert replay.verify_chain(events) == [], case.number
        assert replay.state_differences(replay.stored_state(db, case.id), replay.reduce_events(events)) == []


def test_tampering_breaks_the_chain(db: Session) -> None:
    from xietong.cases.events import Actor, event_hash

    event = db.scalars(select(Event).where(Event.type == "task.completed").limit(1)).one()
    actor = Actor(event.actor_kind, event.actor_id, event.acting_for_id)

    def digest(delta: dict[str, object]) -> str:
        return event_hash(
            event.prev_hash,
            case_id=event.case_id,
            seq=event.seq,
            type=event.type,
            actor=actor,
            at=event.at,
            delta=delta,
        )

    assert digest(event.delta) == event.hash
    assert digest({**event.delta, "task_completed": {**event.delta["task_completed"], "outcome": "x"}}) != event.hash


def test_case_numbers_are_unique_and_counters_continue_them(db: Session) -> None:
    numbers = [c.number for c in _cases(db)]
    assert len(set(numbers)) == len(numbers)
    assert all(n.startswith(f"XT{REGION}") and len(n) == 22 for n in numbers)
    counters = {row.key: row.value for row in db.scalars(select(CounterRow))}
    used = Counter(f"case:{REGION}:{n[8:16]}" for n in numbers)
    for key, count in used.items():
        assert counters[key] == count == max(int(n[16:]) for n in numbers if f"case:{REGION}:{n[8:16]}" == key)


def test_open_cases_include_red_and_yellow_cards(built: Built, db: Session) -> None:
    as_of = reference_instant(DAY, built.settings.timezone)
    calendar = work_calendar(db.connection(), built.settings.timezone)
    cards = Counter(
        card_for(as_of, c.due_at, c.promised_limit_days, calendar)
        for c in _cases(db)
        if c.status in ("accepted", "in_progress") and c.due_at is not None
    )
    assert cards[Card.RED] >= 1 and cards[Card.YELLOW] >= 1, cards
    assert built.summary.cards == {"red": cards[Card.RED], "yellow": cards[Card.YELLOW]}


def test_forms_and_materials_are_what_a_submission_stores(db: Session) -> None:
    versions = {v.id: v for v in db.scalars(select(MatterVersion))}
    attachments: dict[int, list[Attachment]] = {}
    for attachment in db.scalars(select(Attachment)):
        attachments.setdefault(attachment.case_id or 0, []).append(attachment)
    for case in _cases(db):
        version = versions[case.matter_version_id]
        cleaned, errors = validate_form(parse_form_schema(version.form_schema), case.form)
        assert not errors and cleaned == case.form, case.number
        mine = {a.id: a for a in attachments.get(case.id, [])}
        required = {m["code"] for m in version.materials if m["required"]}
        assert required <= {a.material_code for a in mine.values()}
        for field in parse_form_schema(version.form_schema).file_fields():
            for attachment_id in case.form.get(field.key, []):
                assert mine[attachment_id].material_code == field.material


def test_parties_are_the_units_taking_part(db: Session) -> None:
    parties: dict[int, set[int]] = {}
    for row in db.scalars(select(CaseParty)):
        parties.setdefault(row.case_id, set()).add(row.unit_id)
    task_units: dict[int, set[int]] = {}
    for case_id, unit_id in db.execute(select(Task.case_id, Task.unit_id)):
        task_units.setdefault(case_id, set()).add(unit_id)
    for case in _cases(db):
        listed = {int(u) for u in case.party_units.strip(",").split(",")}
        assert (
            parties[case.id]
            == listed
            == {case.applicant_unit_id, case.handling_unit_id} | task_units.get(case.id, set())
        )


def test_demo_log_ins_verify(built: Built, db: Session) -> None:
    usernames = [u for u, _, _ in built.summary.logins]
    assert usernames == ["qingtian_fin_clerk", "qingtian_supervisor"]  # the county's demo log-ins
    rows = db.execute(select(Person.username, Credential).join(Credential, Credential.person_id == Person.id)).all()
    assert sorted(u for u, _ in rows) == sorted(usernames)
    for _, credential in rows:
        assert verify_password(credential.password_hash, DEMO_PASSWORD) and not credential.must_change
        assert not verify_password(credential.password_hash, DEMO_PASSWORD + "x")


def test_built_once(built: Built, db: Session) -> None:
    before = db.scalar(select(func.count()).select_from(Event))
    again = load_demo(built.engine, built.settings, cases=CASES, regions=[REGION], today=date(2027, 1, 4))
    assert not again.built and again.counts == built.summary.counts
    assert again.as_of == reference_instant(DAY, built.settings.timezone)
    assert db.scalar(select(func.count()).select_from(Event)) == before
    assert db.scalar(select(SystemSetting.value).where(SystemSetting.key == "demo.built_at"))


def test_serial_build_is_the_same(built: Built, db: Session, tmp_path: Path) -> None:
    serial = _build(f"sqlite:///{tmp_path / 'serial.db'}", tmp_path, fork=False)
    try:
        with Session(serial.engine) as other:
            for query in (
                select(Case.number, Case.status, Case.last_event_hash).order_by(Case.id),
                select(Task.id, Task.case_id, Task.node_id, Task.state, Task.completed_at).order_by(Task.id),
                select(Scope.id, Scope.kind, Scope.state, Scope.arrived).order_by(Scope.id),
            ):
                assert other.execute(query).all() == db.execute(query).all()
    finally:
        serial.engine.dispose()


def test_open_statuses_are_the_case_state_machines(db: Session) -> None:
    """The loader's notion of an open case is the enum's (a new open status would need a fate here)."""
    assert {s.value for s in OPEN_STATUSES} == RUNNING | {"submitted", "suspended", "special_procedure"}
    assert {s.value for s in CaseStatus} - {"draft"} == RUNNING | CLOSED | {
        "submitted",
        "suspended",
        "special_procedure",
    }


def test_the_services_carry_on_with_the_demo(built: Built) -> None:
    """Deciding a demo task and filing a new case go through the real services (then roll back)."""
    from xietong.cases import service
    from xietong.cases.events import Actor, event_hash
    from xietong.security.principal import load_principal

    as_of = reference_instant(DAY, built.settings.timezone)
    with built.engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False, autoflush=False)
        try:
            task = session.scalars(
                select(Task)
                .join(Case, Case.id == Task.case_id)
                .where(Task.state == "open", Task.post_id.is_not(None), Case.status.in_(("accepted", "in_progress")))
                .order_by(Task.id)
                .limit(1)
            ).one()
            holder = session.scalar(
                select(Membership.person_id).where(
                    Membership.unit_id == task.unit_id, Membership.post_id == task.post_id
                )
            )
            assert holder is not None
            principal = load_principal(session, holder)
            service.complete_task(
                session, principal=principal, task_id=task.id, approved=True, opinion="同意", now=as_of
            )
            events = list(session.scalars(select(Event).where(Event.case_id == task.case_id).order_by(Event.seq)))
            for event in events:
                actor = Actor(event.actor_kind, event.actor_id, event.acting_for_id)
                assert event.hash == event_hash(
                    event.prev_hash,
                    case_id=event.case_id,
                    seq=event.seq,
                    type=event.type,
                    actor=actor,
                    at=event.at,
                    delta=event.delta,
                )
            assert events[-1].type == "task.completed" and events[-1].prev_hash == events[-2].hash

            model = session.scalars(  # of a matter still offered (the demo retires a split and two merged ones)
                select(Case).join(LocalMatter, LocalMatter.id == Case.local_matter_id)
                .where(Case.status == "archived", LocalMatter.status == "published").order_by(Case.id.desc())
            ).first()
            assert model is not None
            version = session.get(MatterVersion, model.matter_version_id)
            assert version is not None
            applicant = load_principal(session, model.applicant_person_id)
            blob = session.scalar(select(Attachment.blob_sha256).where(Attachment.case_id == model.id))
            form, materials = dict(model.form), {}
            for field in parse_form_schema(version.form_schema).file_fields():
                if field.key in form:
                    upload = Attachment(
                        blob_sha256=blob,
                        filename="申请函.pdf",
                        content_type="application/pdf",
                        size=1,
                        material_code=field.material,
                        uploaded_by_id=applicant.id,
                    )
                    session.add(upload)
                    session.flush()
                    form[field.key], materials[field.material] = [upload.id], [upload.id]
            day = model.submitted_at
            key = f"case:{REGION}:{model.number[8:16]}"
            counter = session.scalar(select(CounterRow.value).where(CounterRow.key == key))
            _, number = service.submit_case(
                session,
                principal=applicant,
                local_matter_id=model.local_matter_id,
                applicant_unit_id=model.applicant_unit_id,
                form=form,
                materials=materials,
                now=day,
            )
            assert number == f"XT{REGION}{model.number[8:16]}{(counter or 0) + 1:06d}"
            assert session.scalar(select(func.count()).select_from(Case).where(Case.number == number)) == 1
        finally:
            session.close()
            outer.rollback()


def test_a_few_matters_are_split_and_merged_with_their_history_kept(db: Session) -> None:
    """demo/granularity.py: one matter split into two sub-items, two merged into one joint matter; the cases
    filed before keep their matters, and each re-cut group shares one lineage key."""
    edges = db.execute(select(MatterLineage.kind, MatterLineage.predecessor_id, MatterLineage.successor_id)).all()
    kinds = Counter(kind for kind, _, _ in edges)
    assert kinds["merge"] == 2 and kinds["split"] >= 2 and kinds["split"] % 2 == 0
    for _, before, after in edges:
        keys = db.execute(select(LocalMatter.lineage_key, LocalMatter.status)
                          .where(LocalMatter.id.in_([before, after])).order_by(LocalMatter.id)).all()
        assert keys[0].lineage_key == keys[1].lineage_key
        assert [k.status for k in keys] == ["retired", "published"]
    predecessors = {before for _, before, _ in edges}
    assert db.scalar(select(func.count()).select_from(Case).where(Case.local_matter_id.in_(predecessors))) > 0


def test_units_keep_shared_materials_and_cases_link_them(db: Session) -> None:
    from xietong.materials.models import SharedMaterial, SharedMaterialVersion

    kinds = Counter(db.scalars(select(SharedMaterial.kind)))
    assert kinds and set(kinds) == {"统一社会信用代码证", "法定代表人身份证明", "数据安全承诺书"}
    assert len(set(kinds.values())) == 1  # every department keeps all three
    versions = list(db.scalars(select(SharedMaterialVersion)))
    assert len(versions) == 4 * kinds["统一社会信用代码证"]  # the certificate has an older version
    expired = [v for v in versions if v.valid_until is not None and v.valid_until < DAY]
    assert expired, "some document has expired, so the wizard shows a refusal too"
    shared_kinds = {m.get("shared_kind") for v in db.scalars(select(MatterVersion)) for m in v.materials}
    assert {"统一社会信用代码证", "数据安全承诺书"} <= shared_kinds
    linked = list(db.scalars(select(Attachment).where(Attachment.shared_version_id.is_not(None))))
    assert linked, "some demo cases were filed with a shared version"
    by_id = {v.id: v for v in versions}
    for attachment in linked:
        version = by_id[attachment.shared_version_id]
        assert attachment.blob_sha256 == version.blob_sha256 and version.uploaded_at < attachment.uploaded_at
