"""Oversight operations, one module per group; each is one transaction owned by the caller."""

from xietong.oversight.service.copies import copy_case, mark_copy_read
from xietong.oversight.service.opinions import (
    add_opinion,
    delete_opinion,
    edit_opinion,
    reorder_opinions,
    saved_opinions,
)
from xietong.oversight.service.orders import answer_order, close_order, issue_supervision, send_back_order
from xietong.oversight.service.ratings import rate_case
from xietong.oversight.service.urges import urge_case

__all__ = [
    "add_opinion",
    "answer_order",
    "close_order",
    "copy_case",
    "delete_opinion",
    "edit_opinion",
    "issue_supervision",
    "mark_copy_read",
    "rate_case",
    "reorder_opinions",
    "saved_opinions",
    "send_back_order",
    "urge_case",
]
