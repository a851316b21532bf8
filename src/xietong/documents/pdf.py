"""Documents and the approval sheet (审批单) as PDF: reportlab with its built-in Chinese CID font (STSong-Light),
so nothing is downloaded and no font file ships with us; readers supply the glyphs of that standard font."""

from __future__ import annotations

from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
TITLE = ParagraphStyle("title", fontName=FONT, fontSize=18, leading=26, alignment=1, spaceAfter=4 * mm)
BODY = ParagraphStyle("body", fontName=FONT, fontSize=12, leading=20)
CELL = ParagraphStyle("cell", fontName=FONT, fontSize=10, leading=14)


def _pdf(flowables: list, title: str) -> bytes:
    out = BytesIO()
    SimpleDocTemplate(out, pagesize=A4, title=title, leftMargin=25 * mm, rightMargin=25 * mm,
                      topMargin=25 * mm, bottomMargin=20 * mm).build(flowables)
    return out.getvalue()


def document_pdf(title: str, body: str, *, seal_png: bytes | None = None) -> bytes:
    """A notice or decision: its first line is the heading; each further line a paragraph (indents kept).
    ``seal_png``: the issuing unit's seal image, stamped over the closing lines (the unit and the date)."""
    lines = body.splitlines()
    flowables: list = [Paragraph(escape(lines[0] if lines else title), TITLE)]
    for line in lines[1:]:
        text = escape(line).replace(" ", "&nbsp;")
        flowables.append(Paragraph(text, BODY) if line.strip() else Spacer(1, 3 * mm))
    if seal_png is not None:
        # drawn after the text and pulled back up over the unit's name and date, as a stamp is
        flowables += [Spacer(1, -34 * mm), Image(BytesIO(seal_png), 40 * mm, 40 * mm, hAlign="RIGHT")]
    return _pdf(flowables, title)


def approval_sheet_pdf(header: list[tuple[str, str]], steps: list[tuple[str, str, str, str, str]]) -> bytes:
    """审批单: the case's particulars, then one row per step — step, unit, handler, time, decision and opinion."""
    cell = lambda text: Paragraph(escape(text or ""), CELL)  # noqa: E731
    info = Table([[cell(k), cell(v)] for k, v in header], colWidths=[35 * mm, 125 * mm])
    rows = [[cell(h) for h in ("环节", "办理单位", "办理人", "时间", "意见")]]
    rows += [[cell(value) for value in step] for step in steps]
    trail = Table(rows, colWidths=[28 * mm, 32 * mm, 22 * mm, 30 * mm, 48 * mm], repeatRows=1)
    grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black), ("VALIGN", (0, 0), (-1, -1), "TOP")])
    info.setStyle(grid)
    trail.setStyle(grid)
    return _pdf([Paragraph("审 批 单", TITLE), info, Spacer(1, 6 * mm), trail], "审批单")
