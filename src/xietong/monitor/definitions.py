"""The exact definition of every figure in Chinese, as the dashboard's tooltips show it (docs/monitor.md holds
the same table in English). Keyed by the figure's ``key`` (``measures``, ``figures.RATES``, the day figures)."""

from __future__ import annotations

PERIOD_NOTE = "统计期间按北京时间的自然日计。"

DEFINITIONS: dict[str, str] = {
    "submitted": "申请量：提交时间在统计期间内的办件数。",
    "online": "网上申请量：期内提交且渠道为网页、移动端或接口的办件数。",
    "mobile": "掌上申请量：期内通过移动端提交的办件数。",
    "accepted": "受理量：受理时间在统计期间内的办件数。",
    "concluded": "办结量：办结时间在统计期间内的办件数（含准予与不予）。",
    "granted": "准予办结：期内办结且结果为准予的办件数。",
    "denied": "不予办结：期内办结且结果为不予的办件数。",
    "on_time": "按时办结：期内办结且办结时间不晚于到期时间的办件数（暂停计时会顺延到期时间）。",
    "late": "超期办结：期内办结且办结时间晚于到期时间的办件数。",
    "zero_trip": "跑零次办结：期内办结且跑动次数为 0 的办件数。",
    "immediate_concluded": "即办件办结：期内办结的即办事项（法定时限 0 个工作日）办件数，不计入提速率。",
    "in_progress": "在办件：当前处于已提交至特别程序之间（未办结）的办件数，不受统计期间限制。",
    "paused_now": "暂停计时：当前处于补正、挂起或特别程序的在办件数。",
    "overdue_now": "逾期在办：当前已受理或办理中、且已过到期时间的办件数。",
    "yellow_now": "当前黄牌：当前在办且亮黄牌的办件数。",
    "red_now": "当前红牌：当前在办且亮红牌的办件数。",
    "yellow_cards": "期内亮黄牌办件：统计期间内发生过亮黄牌事件的办件数。",
    "red_cards": "期内亮红牌办件：统计期间内发生过亮红牌事件的办件数。",
    "urged": "期内被催办办件：统计期间内被催办过的办件数（一件多次催办计一件）。",
    "supervised": "期内督办办件：统计期间内下达过督办单的办件数。",
    "supervision_overdue": "期内督办逾期未答复：期内下达、已标记逾期的督办单所涉办件数。",
    "supervision_open": "督办未办结：当前有未办结督办单的办件数。",
    "rated": "期内评价：评价时间在统计期间内的评价数（每件一次）。",
    "satisfied": "满意评价：期内评价为非常满意或满意的数量。",
    "dissatisfied": "差评：期内评价为不满意或非常不满意的数量。",
    "rectifications": "期内整改：期内下达的整改单数。",
    "rectified_on_time": "整改按期办结：期内下达、且在整改期限内办结的整改单数。",
    "on_time_rate": "按时办结率 = 按时办结 ÷ 办结量（比率为合计之比，分母为 0 时不显示）。",
    "online_rate": "网办率 = 网上申请量 ÷ 申请量。",
    "mobile_rate": "掌上办率 = 掌上申请量 ÷ 申请量。",
    "zero_trip_rate": "跑零次率 = 跑零次办结 ÷ 办结量。",
    "satisfaction": "满意率 = 满意评价 ÷ 期内评价。",
    "bad_rating_rate": "差评率 = 差评 ÷ 期内评价。",
    "rectification_on_time_rate": "整改按期办结率 = 整改按期办结 ÷ 期内整改。",
    "actual_speed_up": "实际提速率 = 1 − Σ实际用时（工作日）÷ Σ法定时限，按期内办结的承诺件计；即办件不计入。",
    "promised_speed_up": "承诺提速率 = 1 − Σ承诺时限 ÷ Σ法定时限，按期末在用的事项版本计（即办事项另计）。",
    "average_days": "平均用时：期内办结件的实际用时（工作日，受理次日起至办结日，扣除暂停）的平均值。",
    "median_days": "中位用时：期内办结件实际用时（工作日）的中位数，精确计算。",
    "urges": "催办次数：统计期间内的催办次数（一件多次计多次）。",
    "supervision_orders": "督办单数：统计期间内下达的督办单数。",
    "bottleneck_days": ("环节平均耗时：期内由人员办结（决定、退回、转办）的环节所用工作日的平均值，"
                        "计入承办该环节的单位。"),
    "ranking": "排名：先按按时办结率从高到低（期内无办结的排后），再按逾期在办从少到多，再按办结量从多到少。",
}


def definition(key: str) -> str:
    return DEFINITIONS.get(key, "")
