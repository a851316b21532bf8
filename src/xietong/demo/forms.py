"""Filled-in application forms for demo cases: plausible values for every field of a matter's form schema.

The values are then cleaned by the same :func:`xietong.catalog.forms.validate_form` that
``submit_case`` uses, so a demo case holds exactly what a real submission would have stored.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from xietong.catalog.forms import (
    DateField,
    FileField,
    FormSchema,
    NumberField,
    SelectField,
    TableField,
    TextField,
    validate_form,
)

_ITEMS = ("办公设备购置", "专项工作经费", "信息化运维", "培训会务", "课题研究", "宣传印刷", "应急物资")
_DATA_ITEMS = ("法人基本信息", "人口基础信息", "社保参保信息", "不动产登记信息", "公积金缴存信息", "企业纳税信息")
_PURPOSES = ("用于日常业务核验", "用于专项工作开展", "用于年度统计分析", "用于跨部门协同审批", "用于政策兑现")
_POSITIONS = ("科员", "副科长", "科长", "一级主任科员", "四级调研员", "专业技术人员")
_PROJECTS = ("数字化改革", "办公用房改造", "信息系统升级", "应急物资储备", "基层治理", "政务服务提升")


@dataclass(frozen=True)
class Applicant:
    """Who fills the form in: the unit's names and the clerk's name and phone."""

    unit_name: str
    unit_short: str
    person_name: str
    phone: str


class FormFiller:
    """Fills forms with values drawn from one random generator (so a seed gives the same forms)."""

    def __init__(self, rng: random.Random, names: list[str]) -> None:
        self.rng = rng
        self.names = names

    def fill(
        self,
        schema: FormSchema,
        *,
        matter_name: str,
        applicant: Applicant,
        day: date,
        attachments: dict[str, list[int]],
        check: bool = True,
    ) -> dict[str, Any]:
        """Form data for ``schema``, cleaned by ``validate_form`` when ``check`` (raises ValueError if the demo
        made an invalid form). The values are made clean — stripped, in range, of the right type — so cleaning
        returns them unchanged; the loader checks the first form of each matter, the tests check them all."""
        self.matter, self.applicant, self.day = matter_name, applicant, day
        data: dict[str, Any] = {}
        for f in schema.fields:
            if isinstance(f, FileField):
                if attachments.get(f.material):
                    data[f.key] = list(attachments[f.material])
            elif f.required or self.rng.random() < 0.6:
                data[f.key] = self._value(f, data)
        if isinstance(data.get("persons"), list) and "headcount" in data:
            data["headcount"] = len(data["persons"])
        if not check:
            return data
        cleaned, errors = validate_form(schema, data)
        if errors:
            raise ValueError(f"demo form of {matter_name} is invalid: {[(e.key, e.message) for e in errors]}")
        return cleaned

    def _value(self, f: Any, row: dict[str, Any]) -> Any:
        if isinstance(f, TextField):
            return self._text(f)
        if isinstance(f, NumberField):
            return self._number(f)
        if isinstance(f, DateField):
            return self._date(f.key, row).isoformat()
        if isinstance(f, SelectField):
            return self.rng.choice(f.options).value
        if isinstance(f, TableField):
            return self._table(f)
        raise TypeError(f"unexpected field {f!r}")

    def _text(self, f: TextField) -> str:
        rng, a = self.rng, self.applicant
        by_key = {
            "title": lambda: f"{a.unit_short}关于{self.matter}的申请",
            "contact": lambda: a.person_name,
            "phone": lambda: a.phone,
            "content": lambda: f"因工作需要，{a.unit_name}申请办理{self.matter}，具体情况详见申请函，请予支持。",
            "purpose": lambda: rng.choice(_PURPOSES),
            "item": lambda: rng.choice(_DATA_ITEMS if "数据" in f.label else _ITEMS),
            "name": lambda: rng.choice(self.names),
            "position": lambda: rng.choice(_POSITIONS),
            "scope": lambda: f"{self.day.year - rng.randint(1, 10)}年度{a.unit_short}相关文书档案",
            "project_name": lambda: f"{a.unit_short}{rng.choice(_PROJECTS)}项目",
        }
        text = by_key.get(f.key, lambda: f"{f.label}（{a.unit_short}）")()
        return text[: f.max_length] if f.max_length else text

    def _number(self, f: NumberField) -> int | float:
        rng = self.rng
        if f.key in ("amount", "investment"):
            value: float = round(rng.lognormvariate(math.log(60 if f.key == "amount" else 300), 1.0), 2)
        elif f.integer:
            value = rng.randint(1, 12) if f.key == "headcount" else rng.randint(5, 120)
        else:
            value = round(rng.uniform(1, 100), 2)
        low = f.min if f.min is not None else value
        high = f.max if f.max is not None else value
        value = min(max(value, low), high)
        return int(value) if f.integer else value

    def _date(self, key: str, row: dict[str, Any]) -> date:
        start = row.get("start_date")
        if key == "end_date" and isinstance(start, str):
            return date.fromisoformat(start) + timedelta(days=self.rng.randint(1, 90))
        return self.day + timedelta(days=self.rng.randint(3, 60))

    def _table(self, f: TableField) -> list[dict[str, Any]]:
        low = max(1, f.min_rows or 0)
        high = max(low, min(3, f.max_rows or 3))
        rows = []
        for _ in range(self.rng.randint(low, high)):
            row: dict[str, Any] = {}
            for column in f.columns:
                if column.required or self.rng.random() < 0.6:
                    row[column.key] = self._value(column, row)
            rows.append(row)
        return rows
