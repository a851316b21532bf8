"""What an operator asks before and while running an instance: is it ready, and is its configuration sound.

``readiness`` is what ``/readyz`` answers (database reachable, schema current). ``run_checks`` is what
``xietong check`` prints: those two, the secret, the data directory, the calendar of next year, and — in
production (not demo) — that no demo data or demo account with its published password is present.
``production_refusals`` is the part the app refuses to start with outside demo mode.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from xietong.config import MIN_SECRET_LENGTH, Settings
from xietong.db import migrate
from xietong.db.session import read_only
from xietong.demo.city import DEMO_LOGINS
from xietong.demo.seed import DEMO_PASSWORD
from xietong.directory.models import Person
from xietong.security.models import Credential
from xietong.security.passwords import verify_password
from xietong.system.calendar_admin import holidays_known
from xietong.system.models import SystemSetting, WorkdayOverride

DEMO_BUILT_KEY = "demo.built_at"  # written by xietong.demo.load when it builds the demo city
# Placeholders seen in examples and templates: a secret like these is no secret.
_PLACEHOLDERS = ("change-me", "changeme", "change_me", "example", "placeholder", "your-secret", "secret-key-here")
#: Fewer overrides than this for a year the holiday package does not know means its holidays were not entered.
MIN_OVERRIDES_FOR_YEAR = 5


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def database_reachable(engine: Engine) -> Check:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as error:  # any driver error means the same thing to an operator
        return Check("数据库连接", False, f"无法连接数据库：{type(error).__name__}")
    return Check("数据库连接", True, engine.url.render_as_string(hide_password=True))


def schema_current(engine: Engine, head: str | None = None) -> Check:
    try:
        current = migrate.current_revision(engine)
    except Exception as error:
        return Check("数据库结构", False, f"无法读取数据库结构版本：{type(error).__name__}")
    head = head or migrate.head_revision(engine)
    if current != head:
        shown = current or "空"
        return Check("数据库结构", False, f"数据库结构版本为 {shown}，程序需要 {head}：请运行 `xietong db upgrade`")
    return Check("数据库结构", True, f"版本 {current}")


def readiness(engine: Engine, head: str | None) -> list[Check]:
    reachable = database_reachable(engine)
    return [reachable] if not reachable.ok else [reachable, schema_current(engine, head)]


def secret_problem(settings: Settings) -> str | None:
    """Why the configured secret is unfit for production, or None."""
    key = settings.secret_key
    if key is None:
        return None
    if len(key) < MIN_SECRET_LENGTH:
        return f"XIETONG_SECRET_KEY 不足 {MIN_SECRET_LENGTH} 个字符"
    lowered = key.lower()
    if any(word in lowered for word in _PLACEHOLDERS) or len(set(key)) < 8:
        return "XIETONG_SECRET_KEY 是示例或占位值，请换成随机生成的值（如 secrets.token_urlsafe(48) 的结果）"
    return None


def secret_check(settings: Settings) -> Check:
    problem = secret_problem(settings) if not settings.demo else None
    if problem:
        return Check("实例密钥", False, problem)
    if settings.secret_key is None:
        return Check("实例密钥", True, "使用数据库中生成的密钥；建议配置 XIETONG_SECRET_KEY")
    return Check("实例密钥", True, "已配置 XIETONG_SECRET_KEY")


def demo_problems(session: Session) -> list[str]:
    """Demo data, or demo log-ins that still have the demo password (published in the README)."""
    problems = []
    if session.scalar(select(SystemSetting.key).where(SystemSetting.key == DEMO_BUILT_KEY)):
        problems.append("数据库中有演示城市的数据（demo.built_at）")
    rows = session.execute(
        select(Person.username, Credential.password_hash)
        .join(Credential, Credential.person_id == Person.id)
        .where(Person.username.in_(list(DEMO_LOGINS)), Person.active.is_(True))
    ).all()
    weak = sorted(username for username, digest in rows if verify_password(digest, DEMO_PASSWORD))
    if weak:
        problems.append(f"演示账号仍使用公开的演示密码：{'、'.join(weak)}")
    return problems


def production_refusals(settings: Settings, session: Session) -> list[str]:
    """What stops an instance starting outside demo mode: a placeholder secret, demo data or demo accounts, an
    OpenID Connect log-in without its registered callback URL."""
    if settings.demo:
        return []
    problems = [p for p in (secret_problem(settings), redirect_problem(settings)) if p]
    return problems + demo_problems(session)


def redirect_problem(settings: Settings) -> str | None:
    """Outside demo mode the OIDC callback URL is configured, never taken from a request's Host header (which a
    client chooses: a forged one would send the provider's code elsewhere)."""
    if settings.demo or not settings.oidc_configured:
        return None
    uri = settings.oidc_redirect_uri or ""
    if not uri:
        return "已配置统一身份认证，但未配置 XIETONG_OIDC_REDIRECT_URI（在统一身份认证登记的回调地址，如 https://…/sso/callback）"
    if not uri.startswith("https://"):
        return f"XIETONG_OIDC_REDIRECT_URI 必须使用 https：{uri}"
    return None


def data_dir_writable(settings: Settings) -> Check:
    directory = settings.data_dir
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".xietong-check-"):
            pass
    except OSError as error:
        return Check("数据目录", False, f"{directory} 不可写：{error.strerror or error}")
    if not os.access(directory, os.W_OK):
        return Check("数据目录", False, f"{directory} 不可写")
    return Check("数据目录", True, f"{directory.resolve()} 可写")


def calendar_covers(session: Session, year: int) -> Check:
    name = f"{year} 年工作日历"
    if holidays_known(year):
        return Check(name, True, "日历数据包含该年法定节假日")
    entered = len(
        session.scalars(
            select(WorkdayOverride.day).where(WorkdayOverride.day.between(date(year, 1, 1), date(year, 12, 31)))
        ).all()
    )
    if entered >= MIN_OVERRIDES_FOR_YEAR:
        return Check(name, True, f"日历数据包不含该年，但已录入 {entered} 天节假日/调休")
    return Check(name, False, f"日历数据包不含 {year} 年法定节假日，且只录入了 {entered} 天：请录入或导入该年放假安排")


def sso_check(settings: Settings) -> Check | None:
    """Single sign-on's configuration (``docs/sso.md``): None when neither SSO nor the password switch is set."""
    name = "单点登录"
    if not settings.password_login and not settings.oidc_configured:
        return Check(name, False, "已关闭密码登录（XIETONG_PASSWORD_LOGIN=false），"
                                  "但未配置统一身份认证（XIETONG_OIDC_*）")
    if not settings.password_login and not settings.break_glass:
        return Check(name, False, "已关闭密码登录，但没有应急管理员（XIETONG_PASSWORD_BREAK_GLASS）："
                                  "统一身份认证不可用时无人能登录")
    if not settings.oidc_configured:
        return None
    issuer = settings.oidc_issuer or ""
    if not settings.demo and not issuer.startswith("https://"):
        return Check(name, False, f"XIETONG_OIDC_ISSUER 必须使用 https：{issuer}")
    if (problem := redirect_problem(settings)) is not None:
        return Check(name, False, problem)
    return Check(name, True, f"统一身份认证：{issuer}" + ("" if settings.password_login else "；密码登录已关闭"))


def run_checks(settings: Settings, engine: Engine, *, today: date) -> list[Check]:
    """Every check ``xietong check`` prints, in order; the database ones stop the rest when they fail."""
    checks = readiness(engine, None)
    checks.append(secret_check(settings))
    checks.append(data_dir_writable(settings))
    if (sso := sso_check(settings)) is not None:
        checks.append(sso)
    if not all(check.ok for check in checks[:2]):
        return checks
    with read_only(engine) as session:
        checks.append(calendar_covers(session, today.year + 1))
        if not settings.demo:
            problems = demo_problems(session)
            checks.append(Check("演示数据与账号", not problems, "；".join(problems) or "没有演示数据或演示密码"))
    return checks
