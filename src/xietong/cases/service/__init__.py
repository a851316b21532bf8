"""Case operations, one module per group; each is one transaction owned by the caller."""

from xietong.cases.service.delegation import delegate_task, hand_back_task
from xietong.cases.service.handover import add_signers, remove_signer, transfer_task
from xietong.cases.service.lifecycle import accept_case, archive_case, conclude_case, reject_case, withdraw_case
from xietong.cases.service.pauses import request_supplement, resubmit_case, resume_case, suspend_case
from xietong.cases.service.returns import return_targets, return_task
from xietong.cases.service.special import end_special_procedure, extend_case, start_special_procedure
from xietong.cases.service.submit import submit_case
from xietong.cases.service.tasks import claim_task, complete_task, release_task
from xietong.cases.service.withdrawal import withdraw_decision

__all__ = [
    "accept_case",
    "add_signers",
    "archive_case",
    "claim_task",
    "complete_task",
    "conclude_case",
    "delegate_task",
    "end_special_procedure",
    "extend_case",
    "hand_back_task",
    "reject_case",
    "release_task",
    "remove_signer",
    "request_supplement",
    "resubmit_case",
    "resume_case",
    "return_targets",
    "return_task",
    "start_special_procedure",
    "submit_case",
    "suspend_case",
    "transfer_task",
    "withdraw_case",
    "withdraw_decision",
]
