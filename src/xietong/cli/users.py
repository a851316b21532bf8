"""``xietong user``: accounts — add, set a password, grant and revoke roles, list, unlock.

Passwords are never command-line options (they would stay in the shell history and the process list): they
are read from a hidden prompt, or as one line from standard input with ``--password-stdin``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy.orm import Session

from xietong.cli import app
from xietong.cli.common import database, fail, out, reported
from xietong.db.session import read_only, unit_of_work
from xietong.directory import service as directory
from xietong.directory.models import Person, Unit
from xietong.directory.schemas import MembershipIn, PersonIn, field_problems
from xietong.errors import Conflict, FieldProblem, InvalidInput, NotFound
from xietong.security import accounts
from xietong.security.accounts import ROLES, ScopeRef
from xietong.security.models import Credential
from xietong.security.passwords import password_problems, set_password

user_app = typer.Typer(help="用户、密码与角色授权 (accounts)", no_args_is_help=True)
app.add_typer(user_app, name="user")


class Scope(StrEnum):
    unit_subtree = "unit-subtree"
    region = "region"
    all = "all"


Username = Annotated[str, typer.Argument(help="用户名")]
MustChange = Annotated[bool, typer.Option("--must-change/--no-must-change", help="首次登录须修改密码")]
PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="从标准输入读取一行作为密码")]
Role = Annotated[str, typer.Argument(help="角色：" + "、".join(f"{k}（{v}）" for k, v in ROLES.items()))]
ScopeOption = Annotated[Scope | None, typer.Option("--scope", help="授权范围（默认由 --unit / --region 推断）")]
UnitOption = Annotated[str | None, typer.Option("--unit", help="单位编码")]
RegionOption = Annotated[str | None, typer.Option("--region", help="行政区划代码")]


@user_app.command("add", help="新建人员并设置密码，或为已有人员（按用户名）设置密码")
def add(
    username: Username,
    name: Annotated[str | None, typer.Option("--name", help="姓名（新建人员时必填）")] = None,
    employee_code: Annotated[str | None, typer.Option("--employee-code", help="工号（新建人员时必填）")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="所在单位编码（新建人员时）")] = None,
    post: Annotated[str | None, typer.Option("--post", help="岗位编码，如 clerk")] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="手机")] = None,
    must_change: MustChange = True,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a person with a password, or give an existing person (by user name) a password."""
    with reported(), database() as engine:
        with read_only(engine) as session:
            existing = _without_password(session, username)
            if existing is None and unit is not None:
                _unit(session, unit)  # refuse an unknown unit before asking for the password
        new_person = None
        if existing is None:
            new_person = _person_in(username, name, employee_code, unit, post, phone)
        elif any(value is not None for value in (name, employee_code, unit, post, phone)):
            raise InvalidInput(
                code="person_exists", detail=f"人员 {username} 已存在；只为其设置密码时不能再给出姓名、单位等"
            )
        password = _read_password(username, from_stdin=password_stdin)
        with unit_of_work(engine) as session:
            if new_person is not None:
                person_id = directory.create_person(session, data=new_person).id
            else:
                person_id = _without_password(session, username) or _person(session, username).id
            set_password(session, person_id=person_id, password=password, username=username, must_change=must_change)
    done = "已创建人员并设置密码" if new_person is not None else "已为现有人员设置密码"
    out().print(f"[green]{done}[/green]：{username}" + ("（首次登录须修改密码）" if must_change else ""))


@user_app.command("passwd", help="重设密码（同时解除锁定）")
def passwd(username: Username, must_change: MustChange = True, password_stdin: PasswordStdin = False) -> None:
    """Set a new password for a person (clears any lock-out)."""
    with reported(), database() as engine:
        with read_only(engine) as session:
            _person(session, username)
        password = _read_password(username, from_stdin=password_stdin)
        with unit_of_work(engine) as session:
            person = _person(session, username)
            set_password(session, person_id=person.id, password=password, username=username, must_change=must_change)
    out().print(f"[green]已重设密码[/green]：{username}")


@user_app.command("grant", help="授予角色：--unit 单位及下级、--region 行政区划，或 --scope all 全部")
def grant(
    username: Username, role: Role, scope: ScopeOption = None, unit: UnitOption = None, region: RegionOption = None
) -> None:
    """Grant a role with a scope: a unit and its subtree (--unit), a region (--region), or --scope all."""
    with reported(), database() as engine, unit_of_work(engine) as session:
        person = _person(session, username)
        ref = _scope(session, scope, unit, region)
        if ref is None:
            raise InvalidInput(code="scope_missing", detail="请用 --unit、--region 或 --scope all 指定授权范围")
        accounts.grant_role(session, person_id=person.id, role=role, scope=ref)
    out().print(f"[green]已授权[/green]：{username} → {ROLES[role]}（{_scope_text(scope, unit, region)}）")


@user_app.command("revoke", help="撤销角色：给出范围时只撤销该范围的授权，否则撤销该角色的全部授权")
def revoke(
    username: Username, role: Role, scope: ScopeOption = None, unit: UnitOption = None, region: RegionOption = None
) -> None:
    """Revoke a role: the grant of the given scope, or every grant of that role when no scope is given."""
    with reported(), database() as engine, unit_of_work(engine) as session:
        person = _person(session, username)
        removed = accounts.revoke_role(
            session, person_id=person.id, role=role, scope=_scope(session, scope, unit, region)
        )
    out().print(f"[green]已撤销[/green] {removed} 项授权：{username} → {ROLES.get(role, role)}")


@user_app.command("list", help="列出人员及其单位、角色和登录状态")
def list_users(
    unit: Annotated[str | None, typer.Option("--unit", help="只列出该单位的人员")] = None,
    role: Annotated[str | None, typer.Option("--role", help="只列出有该角色的人员")] = None,
) -> None:
    """List people with their units, roles and log-in state."""
    with reported(), database() as engine, read_only(engine) as session:
        unit_id = _unit(session, unit).id if unit else None
        rows = accounts.accounts(session, unit_id=unit_id, role=role)
    table = Table("用户名", "姓名", "工号", "单位", "角色", "密码", "状态", header_style="bold")
    for row in rows:
        roles = "\n".join(f"{ROLES.get(g.role, g.role)}（{g.scope_label}）" for g in row.grants)
        password = ("须修改" if row.must_change else "已设置") if row.has_password else "无"
        state = (
            "停用" if not row.active else (f"锁定至 {row.locked_until:%Y-%m-%d %H:%M}" if row.locked_until else "正常")
        )
        table.add_row(row.username, row.name, row.employee_code, "\n".join(row.units), roles, password, state)
    console = out()
    console.print(table)
    console.print(f"共 {len(rows)} 人")


@user_app.command("unlock", help="解除多次登录失败造成的锁定")
def unlock(username: Username) -> None:
    """Clear a lock-out after too many failed log-ins."""
    with reported(), database() as engine, unit_of_work(engine) as session:
        accounts.unlock_account(session, person_id=_person(session, username).id)
    out().print(f"[green]已解锁[/green]：{username}")


def _read_password(username: str, *, from_stdin: bool) -> str:
    if from_stdin:
        password = typer.get_text_stream("stdin").readline().rstrip("\r\n")
    else:
        password = typer.prompt("新密码", hide_input=True, confirmation_prompt="再次输入新密码")
    problems = password_problems(password, username=username)
    if problems:
        fail(InvalidInput(code="weak_password", detail="密码不符合要求", errors=problems))
    return password


def _person_in(
    username: str, name: str | None, employee_code: str | None, unit: str | None, post: str | None, phone: str | None
) -> PersonIn:
    missing = [
        FieldProblem(opt, "新建人员时必填", "missing")
        for opt, v in (("--name", name), ("--employee-code", employee_code))
        if v is None
    ]
    if missing or name is None or employee_code is None:
        raise InvalidInput(
            code="person_fields_missing", detail=f"没有用户名为 {username} 的人员，新建须给出姓名和工号", errors=missing
        )
    if post is not None and unit is None:
        raise InvalidInput(code="post_without_unit", detail="给出 --post 时须同时给出 --unit")
    memberships = [MembershipIn(unit_code=unit, post_code=post)] if unit else []
    try:
        return PersonIn(username=username, name=name, employee_code=employee_code, phone=phone, memberships=memberships)
    except ValidationError as exc:
        labels = {"username": "用户名", "name": "--name", "employee_code": "--employee-code", "phone": "--phone"}
        raise InvalidInput(code="person_invalid", detail="人员信息有误", errors=field_problems(exc, labels)) from exc


def _without_password(session: Session, username: str) -> int | None:
    """The id of the person with this user name (None if there is none); a Conflict if they have a password."""
    person = directory.person_by_username(session, username=username)
    if person is not None and session.get(Credential, person.id) is not None:
        raise Conflict(code="credential_exists", detail=f"{username} 已有密码；如需重设请用 xietong user passwd")
    return person.id if person is not None else None


def _person(session: Session, username: str) -> Person:
    person = directory.person_by_username(session, username=username)
    if person is None:
        raise NotFound(code="person_not_found", detail=f"找不到用户名为 {username} 的人员")
    return person


def _unit(session: Session, code: str) -> Unit:
    unit = directory.unit_by_code(session, code=code)
    if unit is None:
        raise NotFound(code="unit_not_found", detail=f"找不到单位编码 {code}")
    return unit


def _scope(session: Session, scope: Scope | None, unit: str | None, region: str | None) -> ScopeRef | None:
    """The scope the options name; None when they name none."""
    if scope is None:
        scope = Scope.unit_subtree if unit else Scope.region if region else None
    if scope is None:
        return None
    unit_id = _unit(session, unit).id if unit else None
    region_id = None
    if region:
        found = directory.region_by_code(session, code=region)
        if found is None:
            raise NotFound(code="region_not_found", detail=f"找不到行政区划代码 {region}")
        region_id = found.id
    return ScopeRef(kind=scope.value.replace("-", "_"), unit_id=unit_id, region_id=region_id)


def _scope_text(scope: Scope | None, unit: str | None, region: str | None) -> str:
    if unit:
        return f"单位 {unit} 及下级"
    if region:
        return f"行政区划 {region}"
    return "全部" if scope == Scope.all else ""
