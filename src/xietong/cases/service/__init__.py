"""Case operations, one module per group; each is one transaction owned by the caller."""

from xietong.cases.service.lifecycle import accept_case, archive_case, conclude_case, reject_case, withdraw_case
from xietong.cases.service.submit import submit_case
from xietong.cases.service.tasks import claim_task, complete_task

__all__ = [
    "accept_case",
    "archive_case",
    "claim_task",
    "complete_task",
    "conclude_case",
    "reject_case",
    "submit_case",
    "withdraw_case",
]
