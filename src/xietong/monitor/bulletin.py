"""通报: a period's bulletin — headline figures, the rankings of units and regions, the worst overdue cases
and the slowest steps — gathered once, then written as .xlsx or as PDF (reportlab, its built-in
``STSong-Light`` CID font for Chinese, so no font file is needed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, TableStyle
from reportlab.platypus import Table as PdfTable
from sqlalchemy import select
from sqlalchemy.orm import Session

from xietong.directory.models import Region
from xietong.monitor.drilldown import worst_overdue
from xietong.monitor.figures import figures, ranking
from xietong.monitor.filters import Filters
from xietong.monitor.schemas import Bottlenecks, CaseRow, Figures, Ranking
from xietong.monitor.steps import bottlenecks
from xietong.monitor.tables import Table, bottlenecks_table, cases_table, figures_table, local, ranking_table
from xietong.monitor.xlsx import workbook
from xietong.security.principal import Principal

WORST = 20
HEADLINE = ("submitted", "concluded", "on_time_rate", "online_rate", "zero_trip_rate", "actual_speed_up",
            "overdue_now", "red_cards", "satisfaction")


@dataclass(frozen=True)
class Bulletin:
    title: str
    filters: Filters
    as_of: datetime
    figures: Figures
    units: Ranking
    regions: Ranking
    overdue_open: list[CaseRow]
    late: list[CaseRow]
    steps: Bottlenecks

    def tables(self) -> list[Table]:
        return [
            figures_table(self.figures),
            ranking_table(self.units),
            ranking_table(self.regions),
            cases_table(self.overdue_open, "逾期未办结（当前）", self.filters.tz),
            cases_table(self.late, "期内超期办结", self.filters.tz),
            bottlenecks_table(self.steps),
        ]


def gather(
    session: Session, *, principal: Principal, filters: Filters, scope_name: str, now: datetime | None = None,
    fold: bool = False,
) -> Bulletin:
    """Everything a bulletin prints, for the cases this principal supervises; ``fold`` ranks the units merged
    away in a 机构改革 within their successor."""
    found = figures(session, principal=principal, filters=filters, now=now)
    now = found.as_of
    return Bulletin(
        title=f"{scope_name}{filters.period.title}机关内部协同办事效能通报",
        filters=filters,
        as_of=now,
        figures=found,
        units=ranking(session, principal=principal, filters=filters, by="unit", now=now, fold_reorganised=fold),
        regions=ranking(session, principal=principal, filters=filters, by="region", now=now),
        overdue_open=worst_overdue(session, principal=principal, filters=filters, figure="overdue_now", limit=WORST,
                                   now=now),
        late=worst_overdue(session, principal=principal, filters=filters, figure="late", limit=WORST, now=now),
        steps=bottlenecks(session, principal=principal, filters=filters, now=now, limit=WORST),
    )


def bulletin_xlsx(bulletin: Bulletin) -> bytes:
    return workbook(bulletin.tables(), title=bulletin.title)


def _cell_text(value: object, percent: bool) -> str:
    if value is None:
        return ""
    if percent and isinstance(value, float):
        return f"{value:.2%}"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value)


def _headline(bulletin: Bulletin) -> list[list[str]]:
    f = bulletin.figures
    values: dict[str, tuple[str, str]] = {c.key: (c.label, str(c.value)) for c in f.counts}
    values.update({r.key: (r.label, "—" if r.value is None else f"{r.value:.2%}") for r in f.rates})
    return [["指标", "数值"], *([values[k][0], values[k][1]] for k in HEADLINE)]


def bulletin_pdf(bulletin: Bulletin) -> bytes:
    """The bulletin as an A4 landscape PDF: a heading, the headline figures, then each table."""
    font = "STSong-Light"
    pdfmetrics.registerFont(UnicodeCIDFont(font))
    heading = ParagraphStyle("h", fontName=font, fontSize=16, leading=22, spaceAfter=4 * mm)
    section = ParagraphStyle("s", fontName=font, fontSize=12, leading=16, spaceBefore=4 * mm, spaceAfter=2 * mm)
    body = ParagraphStyle("b", fontName=font, fontSize=9, leading=12)
    style = TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 7),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ])
    period = bulletin.filters.period
    story: list[object] = [
        Paragraph(bulletin.title, heading),
        Paragraph(f"统计期间：{period.first:%Y-%m-%d} 至 {period.last:%Y-%m-%d}；在办、逾期等当前数据截至 "
                  f"{local(bulletin.as_of, bulletin.filters.tz):%Y-%m-%d %H:%M}（北京时间）。", body),
        Paragraph("主要指标", section),
        PdfTable(_headline(bulletin), style=style, hAlign="LEFT"),
    ]
    for table in bulletin.tables()[1:]:
        story.append(Paragraph(table.title, section))
        if not table.rows:
            story.append(Paragraph("（无）", body))
            continue
        rows = [table.headers] + [[_cell_text(v, i in table.percent) for i, v in enumerate(r)] for r in table.rows]
        story.append(PdfTable(rows, style=style, hAlign="LEFT", repeatRows=1))
    buffer = BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=landscape(A4), title=bulletin.title, leftMargin=12 * mm,
                                 rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm)
    document.build(story)  # type: ignore[arg-type]
    return buffer.getvalue()


def scope_name(session: Session, region_id: int | None) -> str:
    """What the bulletin's title names: the region filtered on, or the whole city."""
    if region_id is None:
        return "全市"
    name = session.scalar(select(Region.name).where(Region.id == region_id))
    return name or ""
