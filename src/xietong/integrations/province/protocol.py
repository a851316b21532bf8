"""The exchange protocol with the provincial platform: the tables and their fields, the signature, the replies.

One record is one HTTP call ``POST {base}/exchange/{table}`` with a JSON body ``{"serial": …, "record": {…}}``.
``serial`` is the exchange's idempotency id: the platform answers a repeated serial with its first receipt and
stores nothing new. Headers: ``X-App-Id``, ``X-Timestamp`` (Unix milliseconds), ``X-Nonce`` and ``X-Signature`` =
hex HMAC-SHA256 over ``app_id \\n timestamp \\n nonce \\n SHA-256(body) hex`` with the app secret; the platform
refuses a timestamp more than five minutes off. A reply is ``{"code": "0", "msg": …, "receipt": …}`` for
success and a non-zero ``code`` with ``errors`` (field, message) for a refusal.

The field lists follow the provincial 办件 exchange tables as deployed in Zhejiang's 权力运行/办件库 (the names of
``up_pro_accept``, ``up_pro_process``, ``up_pro_special_procedure`` and ``up_pro_result``); no copy of the current
specification was available when this was written, so every field marked ``guessed`` is our best reading and is
listed as such in ``docs/province.md``. The rating table's name (``up_pro_evaluation``) is guessed too.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # local time (Asia/Shanghai), as the exchange tables keep it
TIMESTAMP_WINDOW_MS = 5 * 60 * 1000
OK = "0"


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    required: bool = True
    kind: str = "str"  # str | time | int
    max_length: int = 200
    guessed: bool = False


TABLES: dict[str, tuple[Field, ...]] = {
    "up_pro_accept": (
        Field("PROJID", "办件编号", max_length=40),
        Field("PROJPWD", "查询密码", max_length=20),
        Field("SERVICECODE", "事项编码", max_length=64),
        Field("SERVICENAME", "事项名称"),
        Field("PROJECTNAME", "申报名称"),
        Field("APPLYNAME", "申请单位"),
        Field("APPLY_CARDNUMBER", "申请单位统一社会信用代码", required=False, max_length=18),
        Field("CONTACTMAN", "联系人", required=False, max_length=50),
        Field("DEPTID", "受理部门统一社会信用代码", max_length=18),
        Field("DEPTNAME", "受理部门"),
        Field("AREACODE", "行政区划代码", max_length=12),
        Field("RECEIVETIME", "收件时间", kind="time"),
        Field("ACCEPTTIME", "受理时间", required=False, kind="time", guessed=True),
        Field("ACCEPT_STATE", "受理结果（1 受理，0 不予受理）", max_length=1, guessed=True),
        Field("NOT_ACCEPT_REASON", "不予受理理由", required=False, max_length=1000, guessed=True),
        Field("PROMISEVALUE", "承诺时限", kind="int"),
        Field("PROMISETYPE", "时限单位（1 工作日）", max_length=1),
        Field("PROMISE_ETIME", "承诺办结时间", required=False, kind="time"),
        Field("BUS_MODE", "办件类型（1 即办件，2 承诺件）", max_length=1, guessed=True),
        Field("APPLY_CHANNEL", "申报渠道（1 PC 端，2 移动端，3 窗口，4 系统对接）", max_length=1, guessed=True),
    ),
    "up_pro_process": (
        Field("PROJID", "办件编号", max_length=40),
        Field("SN", "环节序号", kind="int", guessed=True),
        Field("NODENAME", "环节名称", guessed=True),
        Field("HANDLEUSERNAME", "办理人", max_length=50),
        Field("DEPTNAME", "办理部门"),
        Field("HANDLE_RESULT", "办理结果（1 通过，0 不通过）", max_length=1, guessed=True),
        Field("HANDLEEXPLAIN", "办理意见", required=False, max_length=2000),
        Field("HANDLETIME", "办理时间", kind="time"),
    ),
    "up_pro_special_procedure": (
        Field("PROJID", "办件编号", max_length=40),
        Field("SN", "特别程序序号", kind="int", guessed=True),
        Field("SPECIALTYPE", "特别程序种类", max_length=20, guessed=True),
        Field("SPECIALNAME", "特别程序名称", guessed=True),
        Field("SPECIALREASON", "启动理由", max_length=2000),
        Field("SPECIALBASIS", "法律依据", required=False, max_length=2000, guessed=True),
        Field("STARTTIME", "开始时间", kind="time"),
        Field("ENDTIME", "结束时间", required=False, kind="time"),
        Field("SPECIALRESULT", "特别程序结果", required=False, max_length=2000, guessed=True),
        Field("SPECIALDAYS", "占用工作日", required=False, kind="int", guessed=True),
    ),
    "up_pro_result": (
        Field("PROJID", "办件编号", max_length=40),
        Field("TRANSACT_USER", "办结人", max_length=50),
        Field("TRANSACT_TIME", "办结时间", kind="time"),
        Field("TRANSACT_RESULT", "办结结果（1 准予，0 不予）", max_length=1),
        Field("TRANSACT_DESCRIBE", "办结意见", required=False, max_length=2000),
        Field("USED_DAYS", "实际用时（工作日）", required=False, kind="int", guessed=True),
    ),
    "up_pro_evaluation": (
        Field("PROJID", "办件编号", max_length=40, guessed=True),
        Field("EVALUATE_LEVEL", "评价等级（5 非常满意 … 1 非常不满意）", max_length=1, guessed=True),
        Field("EVALUATE_CONTENT", "评价内容", required=False, max_length=2000, guessed=True),
        Field("EVALUATE_TIME", "评价时间", kind="time", guessed=True),
    ),
}


def sign(secret: str, *, app_id: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = "\n".join((app_id, timestamp, nonce, hashlib.sha256(body).hexdigest())).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def problems(table: str, record: dict[str, object]) -> list[dict[str, str]]:
    """Every way ``record`` breaks ``table``'s field list (missing, too long, wrong type or time, unknown)."""
    fields = {f.name: f for f in TABLES[table]}
    found = [{"field": name, "message": "未定义的字段"} for name in record if name not in fields]
    for field in fields.values():
        value = record.get(field.name)
        if value is None or value == "":
            if field.required:
                found.append({"field": field.name, "message": f"缺少{field.label}"})
            continue
        if field.kind == "int":
            if not isinstance(value, int) or isinstance(value, bool):
                found.append({"field": field.name, "message": f"{field.label}应为整数"})
        elif not isinstance(value, str):
            found.append({"field": field.name, "message": f"{field.label}应为字符串"})
        elif field.kind == "time":
            try:
                datetime.strptime(value, TIME_FORMAT)
            except ValueError:
                found.append({"field": field.name, "message": f"{field.label}应为 yyyy-MM-dd HH:mm:ss"})
        elif len(value) > field.max_length:
            found.append({"field": field.name, "message": f"{field.label}超过 {field.max_length} 个字符"})
    return found
