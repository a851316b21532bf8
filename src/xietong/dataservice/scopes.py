"""What a client's scopes let it call: an allow-list from (method, request path) to the scope it needs.

Anything not listed is refused to clients, so a new route is closed to them until someone decides which scope
opens it. Persons are never checked here: their permissions are ``xietong.security.permissions``.
"""

from __future__ import annotations

CASES_READ = "cases:read"
CASES_SUBMIT = "cases:submit"
TASKS_ACT = "tasks:act"
STATS_READ = "stats:read"

SCOPES: dict[str, str] = {
    CASES_READ: "读取本单位参与的办件、变更流和四库导出",
    CASES_SUBMIT: "以本单位名义提交办件",
    TASKS_ACT: "办理本单位尚无人签收的待办（同意或不同意，附意见）",
    STATS_READ: "读取本单位承办办件的统计分析",
}

API = "/api/v1"
# (method, path) → scope; a path ending in "/*" covers every path below it, a "{}" segment matches any one.
_RULES: tuple[tuple[str, str, str], ...] = (
    ("POST", f"{API}/cases", CASES_SUBMIT),
    ("POST", f"{API}/attachments", CASES_SUBMIT),
    ("GET", f"{API}/cases", CASES_READ),
    ("GET", f"{API}/cases/*", CASES_READ),
    ("GET", f"{API}/events", CASES_READ),
    ("GET", f"{API}/export/*", CASES_READ),
    ("GET", f"{API}/matters", CASES_READ),
    ("GET", f"{API}/matters/*", CASES_READ),
    ("GET", f"{API}/attachments/*", CASES_READ),
    ("GET", f"{API}/tasks/todo", TASKS_ACT),
    ("POST", f"{API}/tasks/{{}}/complete", TASKS_ACT),
    ("GET", f"{API}/monitor/*", STATS_READ),
    ("GET", f"{API}/shared-materials", CASES_SUBMIT),  # what an application may link instead of uploading
    ("GET", f"{API}/shared-materials/*", CASES_SUBMIT),
    ("POST", f"{API}/shared-materials", CASES_SUBMIT),
    ("POST", f"{API}/shared-materials/{{}}/versions", CASES_SUBMIT),
)


def required_scope(method: str, path: str) -> str | None:
    """The scope a client needs to call ``method path``, or None if clients may not call it at all."""
    route = path.rstrip("/") or "/"
    for rule_method, template, scope in _RULES:
        if method != rule_method and not (method == "HEAD" and rule_method == "GET"):
            continue
        if template.endswith("/*") and route.startswith(template[:-1]):
            return scope
        if route == template or ("{}" in template and _segments_match(template, route)):
            return scope
    return None


def _segments_match(template: str, route: str) -> bool:
    wanted, given = template.split("/"), route.split("/")
    return len(wanted) == len(given) and all(w in ("{}", g) for w, g in zip(wanted, given, strict=True))
