"""机构改革: merge, split or rename units, with a dry run (``plan``) and an execution (``execute``) whose directory
part is one transaction and whose open cases each get their own — see ``docs/reorganisation.md``."""

from xietong.directory.service.reorganisation.cases import Log, Outcome, Recorder, execute
from xietong.directory.service.reorganisation.lineage import successor_map
from xietong.directory.service.reorganisation.plan import (
    ITEM_LABELS,
    STATE_LABELS,
    Plan,
    PlanItem,
    plan,
)
from xietong.directory.service.reorganisation.spec import KIND_LABELS, Kind, ReorganisationIn, SplitMapping, Successor

__all__ = ["ITEM_LABELS", "KIND_LABELS", "STATE_LABELS", "Kind", "Log", "Outcome", "Plan", "PlanItem", "Recorder",
           "ReorganisationIn", "SplitMapping", "Successor", "execute", "plan", "successor_map"]
