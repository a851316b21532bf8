"""``xietong matters split|merge|lineage``: a plan without --yes writes nothing; with it, one audited write."""

from __future__ import annotations

from sqlalchemy import func, select

import xietong.cli.granularity  # noqa: F401  (registers the commands on the matters group)
from tests.cli.conftest import CliDb
from tests.factories import linear_process, make_city, publish_matter
from xietong.catalog.granularity import parse_sub_item as parse_item
from xietong.catalog.models import BaseMatter, LocalMatter, MatterLineage
from xietong.db.session import unit_of_work
from xietong.errors import InvalidInput
from xietong.security.models import AuditRecord

HANDLING = {"rule": "post", "unit": {"ref": "handling_unit"}, "post": "section_chief"}
MATERIALS = [{"code": "M01", "name": "身份证明", "formats": ["pdf"]},
             {"code": "M02", "name": "方案", "formats": ["pdf"]}]


def test_parse_item_keeps_everything_for_missing_parts() -> None:
    assert parse_item("首次申请|M01,M02|title").materials == ("M01", "M02")
    assert parse_item("首次申请").fields is None
    assert parse_item("变更||title,kind").materials is None
    try:
        parse_item("|M01")
    except InvalidInput as exc:
        assert exc.code == "bad_item"
    else:
        raise AssertionError("an item without a name was accepted")


def test_split_then_merge_from_the_command_line(cli_db: CliDb) -> None:
    with unit_of_work(cli_db.engine) as session:
        city = make_city(session)
        parent = publish_matter(session, city, linear_process(("review", HANDLING)), materials=MATERIALS)
        other = publish_matter(session, city, linear_process(("approve", HANDLING)), handling="finance",
                               materials=MATERIALS)
        base_code = session.get(BaseMatter, parent.base_matter_id).code  # type: ignore[union-attr]
        other_code = other.code
    plan = cli_db.run("matters", "split", base_code, "--item", "首次申请|M01", "--item", "变更申请")
    assert plan.exit_code == 0, plan.output
    assert f"{base_code}.01" in plan.output and "未写入" in plan.output
    with unit_of_work(cli_db.engine) as session:
        assert session.scalar(select(func.count()).select_from(MatterLineage)) == 0

    missing_reason = cli_db.run("matters", "split", base_code, "--item", "甲", "--item", "乙", "--yes")
    assert missing_reason.exit_code == 1 and "理由" in missing_reason.output
    done = cli_db.run("matters", "split", base_code, "--item", "首次申请|M01", "--item", "变更申请",
                      "--reason", "细化", "--publish", "--yes")
    assert done.exit_code == 0, done.output
    assert "已拆分" in done.output
    with unit_of_work(cli_db.engine) as session:
        child = session.scalars(select(LocalMatter.code).where(LocalMatter.code.startswith(f"{base_code}.02"))).one()

    merged = cli_db.run("matters", "merge", child, other_code, "--code", "YJS-CLI", "--name", "联办",
                        "--reason", "一件事", "--publish", "--yes")
    assert merged.exit_code == 0, merged.output
    assert "m1_review → m2_approve" in merged.output and "已合并" in merged.output
    shown = cli_db.run("matters", "lineage", other_code)
    assert shown.exit_code == 0, shown.output
    assert "5 个事项" in shown.output  # parent, two children, the other matter, the joint matter
    with unit_of_work(cli_db.engine) as session:
        actions = sorted(session.scalars(select(AuditRecord.action)))
    assert actions == ["catalog.matter_split", "catalog.matters_merged"]
