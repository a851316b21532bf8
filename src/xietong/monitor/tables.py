"""Monitoring's tables as header + rows of plain values, shared by the .xlsx exports and the PDF bulletin.

Times are shown as local (Asia/Shanghai) date-times; rates as fractions (the spreadsheet formats them as
percentages) — so an exported cell reads back as the number the API gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from xietong.monitor.filters import TZ
from xietong.monitor.schemas import Bottlenecks, CardsNow, CaseRow, Figures, Ranking

CHANNELS = {"web": "网上", "mobile": "掌上", "api": "接口", "counter": "窗口", "oa": "OA"}
CARDS = {"none": "", "yellow": "黄牌", "red": "红牌"}


@dataclass(frozen=True)
class Table:
    title: str
    headers: list[str]
    rows: list[list[Any]]
    percent: frozenset[int] = frozenset()  # the columns holding rates


def local(moment: datetime | None, tz: str = TZ) -> datetime | None:
    """A UTC instant as a naive local date-time (spreadsheets have no time zones)."""
    return None if moment is None else moment.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def figures_table(f: Figures) -> Table:
    rows: list[list[Any]] = [[c.label, c.key, c.value, None, None] for c in f.counts]
    rows += [[r.label, r.key, r.value, r.numerator, r.denominator] for r in f.rates]
    rows += [
        ["办结平均用时（工作日）", "average_days", f.days.average, None, f.days.cases],
        ["办结用时中位数（工作日）", "median_days", f.days.median, None, f.days.cases],
        ["催办次数", "urges", f.urges, None, None],
        ["督办单数", "supervision_orders", f.supervision_orders, None, None],
        ["承诺提速率（事项）", "promised_speed_up", f.promised_speed_up.value, f.promised_speed_up.promised_sum,
         f.promised_speed_up.legal_sum],
    ]
    return Table("指标", ["指标", "代码", "数值", "分子", "分母"], rows)


def _rate_rows(ranking: Ranking) -> list[list[Any]]:
    return [
        [r.rank, _folded_name(r.name, r.folded), r.region_name, r.submitted, r.concluded, r.on_time, r.on_time_rate,
         r.overdue_now, r.red_cards, r.average_days, r.actual_speed_up, r.satisfaction, r.rated]
        for r in ranking.rows
    ]


def _folded_name(name: str, folded: Sequence[str]) -> str:
    """A unit with the units merged into it in a 机构改革 (按改革后单位合并), as the dashboard shows it."""
    return f"{name}（含{'、'.join(folded)}）" if folded else name


def ranking_table(ranking: Ranking) -> Table:
    who = "单位" if ranking.by == "unit" else "区域"
    headers = ["名次", who, "所属区域", "申请量", "办结量", "按时办结", "按时办结率", "逾期在办", "期内红牌",
               "平均用时（工作日）", "实际提速率", "满意率", "评价数"]
    title = f"{who}排名" + ("（按改革后单位合并）" if ranking.folded else "")
    return Table(title, headers, _rate_rows(ranking), frozenset({6, 10, 11}))


def cases_table(rows: Sequence[CaseRow], title: str = "办件清单", tz: str = TZ) -> Table:
    headers = ["办件编号", "标题", "事项", "区域", "办理单位", "状态", "渠道", "申请时间", "受理时间", "到期时间",
               "办结时间", "用时（工作日）", "牌", "超期（工作日）"]
    return Table(title, headers, [
        [r.number, r.title, r.matter_name, r.region_name, r.handling_unit_name, r.status_label,
         CHANNELS.get(r.channel, r.channel), local(r.submitted_at, tz), local(r.accepted_at, tz),
         local(r.due_at, tz), local(r.concluded_at, tz), r.working_days_used, CARDS.get(r.card, r.card),
         r.overdue_working_days]
        for r in rows
    ])


def bottlenecks_table(b: Bottlenecks) -> Table:
    headers = ["事项", "环节", "承办单位", "期内办理", "平均停留（工作日）", "最长（工作日）", "超时办理", "在办",
               "超时在办"]
    return Table("环节耗时", headers, [
        [r.matter_name, r.step_name, r.unit_name, r.closed, r.average_days, r.max_days, r.overdue_closed,
         r.open_now, r.overdue_open]
        for r in b.rows
    ])


def cards_table(c: CardsNow) -> Table:
    return Table("当前亮牌", ["办理单位", "黄牌", "红牌", "逾期在办"],
                 [[u.name, u.yellow, u.red, u.overdue] for u in c.units])
