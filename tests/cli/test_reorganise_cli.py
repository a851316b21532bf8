"""``xietong directory reorganise``: the plan as a table, nothing written without --yes, then the per-item result."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from tests.cases.test_flow import submit_and_accept
from tests.cli.conftest import CliDb
from tests.factories import joint_approval_process, make_city, publish_matter
from xietong.cases.models import Case
from xietong.db.session import unit_of_work
from xietong.directory.models import Unit
from xietong.security.models import AuditRecord


def test_preview_then_execute_a_merge(cli_db: CliDb, tmp_path: Path) -> None:
    with unit_of_work(cli_db.engine) as session:
        city = make_city(session, holders=1)
        local = publish_matter(session, city, joint_approval_process())
        case_id = submit_and_accept(session, city, local.id)
        codes = [city.units["staffing"].code, city.units["office"].code]
        new_code = f"{city.region.code}.merged"
    spec = tmp_path / "merge.json"
    spec.write_text(json.dumps({"kind": "merge", "units": codes, "reason": "编委〔2026〕12号",
                                "successor": {"code": new_code, "name": "综合办公室"}}, ensure_ascii=False))

    preview = cli_db.run("directory", "reorganise", str(spec))
    assert preview.exit_code == 0, preview.output
    assert "合并方案" in preview.output and "新建单位" in preview.output and "未作任何修改" in preview.output
    with unit_of_work(cli_db.engine) as session:
        assert session.scalar(select(Unit.id).where(Unit.code == new_code)) is None

    done = cli_db.run("directory", "reorganise", str(spec), "--yes")
    assert done.exit_code == 0, done.output
    assert "执行完成" in done.output and "办件迁移 1 件" in done.output
    with unit_of_work(cli_db.engine) as session:
        merged = session.scalars(select(Unit).where(Unit.code == new_code)).one()
        assert session.get(Case, case_id).handling_unit_id == merged.id  # type: ignore[union-attr]
        audit = session.scalars(select(AuditRecord).where(AuditRecord.action == "directory.reorganised")).one()
        assert audit.detail["units"] and audit.target_id == session.scalars(
            select(AuditRecord.target_id).where(AuditRecord.action == "directory.reorganisation_cases")).one()
        moved = session.scalars(select(AuditRecord).where(AuditRecord.action == "directory.reorganisation_cases"))
        assert moved.one().detail["cases_moved"] == 1

    again = cli_db.run("directory", "reorganise", str(spec), "--yes")  # nothing left: the same plan is empty
    assert again.exit_code == 0, again.output
    assert "办件迁移 0 件" in again.output


def test_a_bad_spec_and_a_refused_plan_exit_non_zero(cli_db: CliDb, tmp_path: Path) -> None:
    with unit_of_work(cli_db.engine) as session:
        city = make_city(session, holders=1)
        code = city.units["staffing"].code
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"kind": "merge", "units": [], "reason": ""}))
    result = cli_db.run("directory", "reorganise", str(bad))
    assert result.exit_code == 1 and "改革方案文件有误" in result.output
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"kind": "split", "units": [code], "reason": "拆分",
                                 "successors": [{"code": "a1", "name": "甲"}, {"code": "a2", "name": "乙"}]}))
    result = cli_db.run("directory", "reorganise", str(split), "--yes")
    assert result.exit_code == 1 and "不能办理" in result.output and "无法办理" in result.output
    with unit_of_work(cli_db.engine) as session:
        assert session.scalar(select(Unit.id).where(Unit.code == "a1")) is None
