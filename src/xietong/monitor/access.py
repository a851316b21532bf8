"""Who may read monitoring's figures, and over which cases: supervisory roles, by their scope.

A figure counts the cases a supervisory grant covers (``security.permissions.supervised_cases``) — a county
supervisor's are the county's, the city reform office's are all. Someone without a supervisory role gets 403:
the handling unit's own figures are not this issue's (its people see their cases in their lists).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement

from xietong.errors import Forbidden
from xietong.security.permissions import may_supervise, supervised_cases
from xietong.security.principal import Principal


def monitor_scope(principal: Principal) -> ColumnElement[bool]:
    """The cases this principal's figures count; 403 for a principal with no supervisory role."""
    if not may_supervise(principal):
        raise Forbidden(code="not_supervisor", detail="只有效能监管、改革办等监管角色可以查看统计分析")
    return supervised_cases(principal)
