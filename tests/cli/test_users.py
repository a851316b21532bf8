"""``xietong user``: accounts, passwords that never appear on the command line, role grants with scopes."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.cli.conftest import CliDb
from xietong.db.base import utcnow
from xietong.db.session import unit_of_work
from xietong.directory import service as directory
from xietong.directory.models import Person
from xietong.directory.schemas import MembershipIn, PersonIn, RegionIn, UnitIn
from xietong.security.models import Credential, RoleGrant
from xietong.security.passwords import verify_password
from xietong.security.principal import load_principal

PASSWORD = "Lishui-2024-ok"
OTHER = "Another-pass-99"


@pytest.fixture
def org(cli_db: CliDb) -> CliDb:
    """A region 339901, a bureau T-FIN with an office below it, and one person without a password (wang)."""
    with unit_of_work(cli_db.engine) as session:
        directory.create_region(session, data=RegionIn(code="339901", name="测试市", level="city"))
        directory.create_region(session, data=RegionIn(code="339902", name="测试县", level="county"))
        directory.create_unit(session, data=UnitIn(code="T-FIN", name="测试市财政局", region_code="339901"))
        directory.create_unit(
            session, data=UnitIn(code="T-FIN-1", name="预算科", parent_code="T-FIN", region_code="339901")
        )
        directory.create_person(
            session,
            data=PersonIn(
                employee_code="E100", username="wang", name="王五", memberships=[MembershipIn(unit_code="T-FIN")]
            ),
        )
    return cli_db


def person(cli_db: CliDb, username: str) -> Person | None:
    with unit_of_work(cli_db.engine) as session:
        return session.scalar(select(Person).where(Person.username == username))


def credential(cli_db: CliDb, username: str) -> Credential | None:
    with unit_of_work(cli_db.engine) as session:
        return session.scalar(
            select(Credential).join(Person, Person.id == Credential.person_id).where(Person.username == username)
        )


def grants(cli_db: CliDb, username: str) -> list[tuple[str, str, int | None, int | None]]:
    with unit_of_work(cli_db.engine) as session:
        rows = session.execute(
            select(RoleGrant.role, RoleGrant.scope_kind, RoleGrant.scope_unit_id, RoleGrant.scope_region_id)
            .join(Person, Person.id == RoleGrant.person_id)
            .where(Person.username == username)
            .order_by(RoleGrant.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def ids(cli_db: CliDb) -> dict[str, int]:
    with unit_of_work(cli_db.engine) as session:
        fin = directory.unit_by_code(session, code="T-FIN")
        region = directory.region_by_code(session, code="339902")
        assert fin is not None and region is not None
        return {"T-FIN": fin.id, "339902": region.id}


# --- add and passwd ----------------------------------------------------------------------------------------


def test_add_creates_a_person_with_a_password_read_from_stdin(org: CliDb) -> None:
    result = org.run(
        "user",
        "add",
        "zhang",
        "--name",
        "张三",
        "--employee-code",
        "E001",
        "--unit",
        "T-FIN-1",
        "--post",
        "clerk",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "已创建人员并设置密码" in result.output and PASSWORD not in result.output
    created = person(org, "zhang")
    assert created is not None and (created.name, created.employee_code) == ("张三", "E001")
    stored = credential(org, "zhang")
    assert stored is not None and stored.must_change is True
    assert verify_password(stored.password_hash, PASSWORD) and PASSWORD not in stored.password_hash
    with unit_of_work(org.engine) as session:
        assert [m.unit_code for m in directory.person_out(session, person_id=created.id).memberships] == ["T-FIN-1"]


def test_add_reads_the_password_from_a_hidden_prompt_asked_twice(org: CliDb) -> None:
    result = org.run(
        "user",
        "add",
        "zhao",
        "--name",
        "赵六",
        "--employee-code",
        "E002",
        "--no-must-change",
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "新密码" in result.output and "再次输入新密码" in result.output and PASSWORD not in result.output
    stored = credential(org, "zhao")
    assert stored is not None and stored.must_change is False and verify_password(stored.password_hash, PASSWORD)


def test_a_password_is_never_a_command_line_option(org: CliDb) -> None:
    result = org.run("user", "add", "zhang", "--name", "张三", "--employee-code", "E001", "--password", PASSWORD)
    assert result.exit_code == 2
    assert person(org, "zhang") is None


def test_add_attaches_a_password_to_an_existing_person_by_user_name(org: CliDb) -> None:
    result = org.run("user", "add", "wang", "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "已为现有人员设置密码" in result.output
    stored = credential(org, "wang")
    assert stored is not None and verify_password(stored.password_hash, PASSWORD)
    again = org.run("user", "add", "wang", "--password-stdin", input=OTHER + "\n")
    assert again.exit_code == 1 and "已有密码" in again.output
    assert verify_password(credential(org, "wang").password_hash, PASSWORD)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["zhang"], PASSWORD, "--employee-code"),
        (["zhang", "--name", "张三", "--employee-code", "E001"], "short", "密码至少 10 位"),
        (["zhang", "--name", "张三", "--employee-code", "E001"], "zhang-Pass-123", "密码不能包含用户名"),
        (["zhang", "--name", "张三", "--employee-code", "E001", "--unit", "NOPE"], PASSWORD, "找不到单位编码 NOPE"),
        (["zhang", "--name", "张三", "--employee-code", "E100"], PASSWORD, "工号已被占用"),
        (["wang", "--name", "王五"], PASSWORD, "已存在"),
        (["bad name!", "--name", "某", "--employee-code", "E9"], PASSWORD, "用户名只能包含"),
    ],
)
def test_a_refused_add_writes_nothing(org: CliDb, args: list[str], password: str, message: str) -> None:
    with unit_of_work(org.engine) as session:
        people = session.scalar(select(func.count()).select_from(Person))
    result = org.run("user", "add", *args, "--password-stdin", input=password + "\n")
    assert result.exit_code == 1
    assert message in result.output and password not in result.output
    with unit_of_work(org.engine) as session:
        assert session.scalar(select(func.count()).select_from(Person)) == people
        assert session.scalar(select(func.count()).select_from(Credential)) == 0


def test_passwd_sets_a_new_password_that_must_be_changed_and_clears_a_lock(org: CliDb) -> None:
    assert org.run("user", "add", "wang", "--password-stdin", "--no-must-change", input=PASSWORD + "\n").exit_code == 0
    lock(org, "wang")
    result = org.run("user", "passwd", "wang", "--password-stdin", input=OTHER + "\n")
    assert result.exit_code == 0, result.output
    stored = credential(org, "wang")
    assert stored is not None and verify_password(stored.password_hash, OTHER)
    assert (stored.must_change, stored.failed_count, stored.locked_until) == (True, 0, None)
    assert org.run("user", "passwd", "nobody", "--password-stdin", input=OTHER + "\n").exit_code == 1


def lock(cli_db: CliDb, username: str) -> None:
    with unit_of_work(cli_db.engine) as session:
        stored = session.scalar(select(Credential).join(Person).where(Person.username == username))
        assert stored is not None
        stored.failed_count, stored.locked_until = 5, utcnow() + timedelta(minutes=30)


def test_unlock_clears_the_failed_log_ins(org: CliDb) -> None:
    assert org.run("user", "add", "wang", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    lock(org, "wang")
    listing = org.run("user", "list")
    assert "锁定至" in listing.output
    result = org.run("user", "unlock", "wang")
    assert result.exit_code == 0, result.output
    stored = credential(org, "wang")
    assert stored is not None and (stored.failed_count, stored.locked_until) == (0, None)
    assert verify_password(stored.password_hash, PASSWORD)


# --- roles -------------------------------------------------------------------------------------------------


def test_grant_roles_with_each_kind_of_scope_and_granting_twice_changes_nothing(org: CliDb) -> None:
    known = ids(org)
    for args in (
        ["handler", "--unit", "T-FIN"],
        ["supervisor", "--region", "339902"],
        ["audit_admin", "--scope", "all"],
        ["handler", "--scope", "unit-subtree", "--unit", "T-FIN"],
    ):
        result = org.run("user", "grant", "wang", *args)
        assert result.exit_code == 0, result.output
    assert grants(org, "wang") == [
        ("handler", "unit_subtree", known["T-FIN"], None),
        ("supervisor", "region", None, known["339902"]),
        ("audit_admin", "all", None, None),
    ]
    with Session(org.engine) as session:
        principal = load_principal(session, person(org, "wang").id)  # type: ignore[union-attr]
    assert {(g.role, g.scope_kind) for g in principal.grants} == {
        ("handler", "unit_subtree"),
        ("supervisor", "region"),
        ("audit_admin", "all"),
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["wizard", "--scope", "all"], "没有这个角色"),
        (["handler"], "指定授权范围"),
        (["handler", "--scope", "region"], "须指定一个行政区划"),
        (["handler", "--scope", "all", "--unit", "T-FIN"], "不能再指定单位或区划"),
        (["handler", "--unit", "NOPE"], "找不到单位编码 NOPE"),
        (["handler", "--region", "000000"], "找不到行政区划代码 000000"),
    ],
)
def test_a_refused_grant_writes_nothing(org: CliDb, args: list[str], message: str) -> None:
    result = org.run("user", "grant", "wang", *args)
    assert result.exit_code == 1 and message in result.output
    assert grants(org, "wang") == []


def test_grant_with_an_unknown_scope_kind_is_a_usage_error(org: CliDb) -> None:
    assert org.run("user", "grant", "wang", "handler", "--scope", "planet").exit_code == 2


def test_revoke_one_scope_or_every_grant_of_a_role(org: CliDb) -> None:
    for args in (
        ["supervisor", "--unit", "T-FIN"],
        ["supervisor", "--region", "339902"],
        ["handler", "--unit", "T-FIN"],
    ):
        assert org.run("user", "grant", "wang", *args).exit_code == 0
    result = org.run("user", "revoke", "wang", "supervisor", "--unit", "T-FIN")
    assert result.exit_code == 0 and "1 项授权" in result.output
    assert [g[:2] for g in grants(org, "wang")] == [("supervisor", "region"), ("handler", "unit_subtree")]
    assert org.run("user", "revoke", "wang", "supervisor").exit_code == 0
    assert [g[:2] for g in grants(org, "wang")] == [("handler", "unit_subtree")]
    missing = org.run("user", "revoke", "wang", "supervisor")
    assert missing.exit_code == 1 and "没有这一角色授权" in missing.output


def test_list_shows_units_roles_and_password_state_and_filters(org: CliDb) -> None:
    assert (
        org.run(
            "user",
            "add",
            "zhang",
            "--name",
            "张三",
            "--employee-code",
            "E001",
            "--password-stdin",
            input=PASSWORD + "\n",
        ).exit_code
        == 0
    )
    assert org.run("user", "grant", "wang", "supervisor", "--region", "339902").exit_code == 0
    everyone = org.run("user", "list")
    assert everyone.exit_code == 0, everyone.output
    lines = {line.split("│")[1].strip(): line for line in everyone.output.splitlines() if line.count("│") > 2}
    assert "测试市财政局" in lines["wang"] and "效能监督（行政区划：测试县）" in lines["wang"] and "无" in lines["wang"]
    assert "须修改" in lines["zhang"]
    assert "共 2 人" in everyone.output
    supervisors = org.run("user", "list", "--role", "supervisor")
    assert "wang" in supervisors.output and "zhang" not in supervisors.output and "共 1 人" in supervisors.output
    in_unit = org.run("user", "list", "--unit", "T-FIN")
    assert "wang" in in_unit.output and "zhang" not in in_unit.output


def test_the_root_command_registers_the_user_and_directory_groups() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "xietong", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
    ).stdout
    assert "用户、密码与角色授权" in shown and "单位库与人员库" in shown
