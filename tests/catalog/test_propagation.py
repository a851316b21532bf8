"""Base catalogue changes: offered to every published implementation, accepted or declined per region."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import TEXT_FORM, City, linear_process, make_city, post_rule, publish_matter
from xietong.cases import service as cases
from xietong.cases.models import Case
from xietong.catalog import service as catalog
from xietong.catalog.models import BaseChangeOffer, BaseMatter, LocalMatter, MatterVersion, ProcessDefinition
from xietong.catalog.propagation import accept_offer, change_base, decline_offer, pending_offers
from xietong.errors import Conflict, InvalidInput, NotFound

PROCESS = linear_process(("review", post_rule("finance")))
NEW_PROCESS = linear_process(("review", post_rule("finance")), ("approve", post_rule("staffing", "leader_in_charge")))
NEW_FORM: dict[str, Any] = {
    "schema": "xietong.form/1",
    "fields": [
        *TEXT_FORM["fields"],
        {"key": "licence", "label": "批复文件", "type": "file", "required": True, "material": "APPROVAL"},
    ],
}
NEW_MATERIALS = [{"code": "APPROVAL", "name": "批复文件", "required": True, "formats": ["pdf"]}]


def implementations(
    session: Session, count: int, *, limit: int = 8
) -> tuple[list[City], BaseMatter, list[LocalMatter]]:
    """One base matter implemented in ``count`` cities (regions), each published with promised limit ``limit``."""
    cities = [make_city(session) for _ in range(count)]
    first = publish_matter(session, cities[0], PROCESS, limit=limit)
    base = session.get(BaseMatter, first.base_matter_id)
    assert base is not None
    locals_ = [first]
    for city in cities[1:]:
        local = catalog.create_local_matter(
            session, base=base, region_id=city.region.id, handling_unit_id=city.units["staffing"].id
        )
        version = catalog.draft_version(
            session, local=local, form_schema=TEXT_FORM, materials=[], process=PROCESS, promised_limit_days=limit
        )
        catalog.publish_version(session, version_id=version.id)
        locals_.append(local)
    return cities, base, locals_


def actor(city: City) -> int:
    return city.person("office", "head").id


def published(session: Session, local: LocalMatter) -> MatterVersion:
    return session.scalars(
        select(MatterVersion).where(MatterVersion.local_matter_id == local.id, MatterVersion.status == "published")
    ).one()


def test_a_change_is_offered_to_every_published_implementation_but_not_retired_ones(session: Session) -> None:
    cities, base, (a, b, c) = implementations(session, 3)
    catalog.retire_matter(session, local_matter_id=c.id)
    change = change_base(
        session, base_matter_id=base.id, actor_id=actor(cities[0]), summary="增加审批环节", process_template=NEW_PROCESS
    )
    assert (change.number, change.changes, change.created_by_id) == (
        1,
        {"process_template": NEW_PROCESS},
        actor(cities[0]),
    )
    assert base.process_template == NEW_PROCESS
    offers = session.scalars(select(BaseChangeOffer).where(BaseChangeOffer.base_change_id == change.id)).all()
    assert sorted(o.local_matter_id for o in offers) == [a.id, b.id] and {o.state for o in offers} == {"pending"}
    in_region = pending_offers(session, region_id=cities[1].region.id)
    assert [(p.local_matter_id, p.parts, p.summary, p.base_code) for p in in_region] == [
        (b.id, ["process_template"], "增加审批环节", base.code)
    ]
    second = change_base(
        session, base_matter_id=base.id, actor_id=actor(cities[0]), summary="放宽", legal_limit_days=15
    )
    assert second.number == 2
    mine = [p for p in pending_offers(session) if p.base_matter_id == base.id]
    assert [(p.change_number, p.local_matter_id) for p in mine] == [(1, a.id), (1, b.id), (2, a.id), (2, b.id)]


def test_accepting_publishes_a_new_version_with_the_change_and_running_cases_keep_theirs(session: Session) -> None:
    cities, base, (a, b) = implementations(session, 2)
    city = cities[0]
    case_id, _ = cases.submit_case(
        session, principal=city.principal(session, "office"), local_matter_id=a.id,
        applicant_unit_id=city.units["office"].id, form={"title": "变更前的申请"},
    )  # fmt: skip
    before = published(session, a)
    change = change_base(
        session, base_matter_id=base.id, actor_id=actor(city), summary="新增批复文件",
        form_template=NEW_FORM, materials_template=NEW_MATERIALS,
    )  # fmt: skip
    offer = session.scalars(
        select(BaseChangeOffer).where(
            BaseChangeOffer.base_change_id == change.id, BaseChangeOffer.local_matter_id == a.id
        )
    ).one()
    accepted = accept_offer(session, offer_id=offer.id, actor_id=actor(city))
    after = published(session, a)
    assert accepted.version.id == after.id and after.number == before.number + 1
    assert (after.form_schema, after.materials) == (NEW_FORM, NEW_MATERIALS)
    assert after.process_definition_id == before.process_definition_id  # the process did not change
    assert (after.promised_limit_days, accepted.clamped_from) == (before.promised_limit_days, None)
    assert (offer.state, offer.decided_by_id, offer.decided_at is not None) == ("accepted", actor(city), True)
    assert session.get(MatterVersion, before.id).status == "retired"  # type: ignore[union-attr]
    assert session.get(Case, case_id).matter_version_id == before.id  # type: ignore[union-attr]
    assert published(session, b).form_schema == TEXT_FORM  # the other region has not accepted yet


def test_a_lower_legal_limit_clamps_the_promised_limit_and_says_so(session: Session) -> None:
    cities, base, (a,) = implementations(session, 1, limit=8)
    change = change_base(
        session, base_matter_id=base.id, actor_id=actor(cities[0]), summary="法定时限缩短", legal_limit_days=5,
        process_template=NEW_PROCESS,
    )  # fmt: skip
    assert base.legal_limit_days == 5
    [offer] = session.scalars(select(BaseChangeOffer).where(BaseChangeOffer.base_change_id == change.id))
    accepted = accept_offer(session, offer_id=offer.id, actor_id=actor(cities[0]))
    version = published(session, a)
    assert (version.legal_limit_days, version.promised_limit_days, accepted.clamped_from) == (5, 5, 8)
    process = session.get(ProcessDefinition, version.process_definition_id)
    assert process is not None and process.body == NEW_PROCESS


def test_declining_needs_a_reason_and_an_offer_is_decided_only_once(session: Session) -> None:
    cities, base, (a, b) = implementations(session, 2)
    change = change_base(
        session, base_matter_id=base.id, actor_id=actor(cities[0]), summary="流程调整", process_template=NEW_PROCESS
    )
    offers = {
        o.local_matter_id: o
        for o in session.scalars(select(BaseChangeOffer).where(BaseChangeOffer.base_change_id == change.id))
    }
    with pytest.raises(InvalidInput) as caught:
        decline_offer(session, offer_id=offers[b.id].id, actor_id=actor(cities[1]), reason="  ")
    assert caught.value.code == "decline_reason_required" and caught.value.errors[0].field == "reason"
    assert offers[b.id].state == "pending"
    declined = decline_offer(session, offer_id=offers[b.id].id, actor_id=actor(cities[1]), reason="本地已有更简流程")
    assert (declined.state, declined.reason, declined.decided_by_id) == (
        "declined",
        "本地已有更简流程",
        actor(cities[1]),
    )
    before = published(session, b).id
    for decide in (
        lambda: accept_offer(session, offer_id=offers[b.id].id, actor_id=actor(cities[1])),
        lambda: decline_offer(session, offer_id=offers[b.id].id, actor_id=actor(cities[1]), reason="再次"),
    ):
        with pytest.raises(Conflict) as twice:
            decide()
        assert twice.value.code == "offer_decided" and "已被拒绝" in twice.value.detail
    assert published(session, b).id == before
    accept_offer(session, offer_id=offers[a.id].id, actor_id=actor(cities[0]))
    with pytest.raises(Conflict, match="已被采纳"):
        accept_offer(session, offer_id=offers[a.id].id, actor_id=actor(cities[0]))
    assert [p for p in pending_offers(session) if p.change_id == change.id] == []


def test_an_offer_to_an_implementation_retired_since_cannot_be_accepted(session: Session) -> None:
    cities, base, (a,) = implementations(session, 1)
    change = change_base(
        session, base_matter_id=base.id, actor_id=actor(cities[0]), summary="流程调整", process_template=NEW_PROCESS
    )
    [offer] = session.scalars(select(BaseChangeOffer).where(BaseChangeOffer.base_change_id == change.id))
    catalog.retire_matter(session, local_matter_id=a.id)
    with pytest.raises(Conflict) as caught:
        accept_offer(session, offer_id=offer.id, actor_id=actor(cities[0]))
    assert caught.value.code == "matter_not_published" and offer.state == "pending"


def test_invalid_changes_are_refused_with_every_problem_and_nothing_is_offered(session: Session) -> None:
    cities, base, _ = implementations(session, 1)
    broken_process = {"schema": "xietong.process/1", "nodes": [{"id": "start", "type": "start"}], "flows": []}
    with pytest.raises(InvalidInput) as caught:
        change_base(
            session, base_matter_id=base.id, actor_id=actor(cities[0]), summary=" ", form_template=NEW_FORM,
            materials_template=[], process_template=broken_process, legal_limit_days=0,
        )  # fmt: skip
    fields = {p.field.split(".")[0] for p in caught.value.errors}
    assert caught.value.code == "base_change_invalid"
    assert fields == {"summary", "legal_limit_days", "form_template", "process_template"}
    with pytest.raises(InvalidInput) as empty:
        change_base(session, base_matter_id=base.id, actor_id=actor(cities[0]), summary="无内容")
    assert empty.value.errors[0].code == "no_change"
    with pytest.raises(NotFound):
        change_base(session, base_matter_id=-1, actor_id=actor(cities[0]), summary="x", legal_limit_days=3)
    assert (base.form_template, base.process_template) == (None, None)
    assert (
        session.scalars(select(BaseChangeOffer).join(LocalMatter).where(LocalMatter.base_matter_id == base.id)).all()
        == []
    )


def test_an_older_change_cannot_undo_a_newer_one_already_accepted(session: Session) -> None:
    cities, base, (a,) = implementations(session, 1)
    who = actor(cities[0])
    older = change_base(session, base_matter_id=base.id, actor_id=who, summary="一", process_template=NEW_PROCESS)
    newer = change_base(session, base_matter_id=base.id, actor_id=who, summary="二", process_template=PROCESS)
    limit = change_base(session, base_matter_id=base.id, actor_id=who, summary="三", legal_limit_days=12)
    offer = {
        o.base_change_id: o.id
        for o in session.scalars(select(BaseChangeOffer).where(BaseChangeOffer.local_matter_id == a.id))
    }
    accept_offer(session, offer_id=offer[limit.id], actor_id=who)  # other parts: the older ones stay acceptable
    accept_offer(session, offer_id=offer[newer.id], actor_id=who)
    with pytest.raises(Conflict) as caught:
        accept_offer(session, offer_id=offer[older.id], actor_id=who)
    assert caught.value.code == "offer_superseded"
    process = session.get(ProcessDefinition, published(session, a).process_definition_id)
    assert process is not None and process.body == PROCESS and published(session, a).legal_limit_days == 12
    assert (
        decline_offer(session, offer_id=offer[older.id], actor_id=who, reason="已被较新的变更取代").state == "declined"
    )
