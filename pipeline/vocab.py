"""The vocabulary of the event log, declared once: event types, statuses, milestones, lifecycles, core.

Everything else (settings validation, rules validation, extraction, dedup, alerts, evaluation, the CLI)
imports these names instead of restating them.
"""

from __future__ import annotations

EVENT_TYPES = ("sanctions_listing", "sanctions_removal", "tariff_announcement", "factory_opening")
STATUSES = ("done", "announced", "planned", "threatened", "denied", "paused", "cancelled")

# Core (the labelling rules' rule C): news (not background) of these types with these statuses.
CORE_TYPES = ("sanctions_listing", "tariff_announcement", "factory_opening")
CORE_STATUSES = ("done", "announced")

# Milestones a rule may name, per type: the stage of a thing's life a report speaks of.
RULE_MILESTONES = {
    "sanctions_listing": ("listing",),
    "sanctions_removal": ("removal",),
    "tariff_announcement": ("imposed", "threat", "pause", "cut", "denial"),
    "factory_opening": ("announcement", "construction", "production", "delay", "cancellation"),
}

# Milestones of one thing's lifecycle, per type, as stored on events (rule milestones and the ones a
# status derives from them, see ``milestone``): different milestones never merge; they are linked.
MILESTONES = {
    "sanctions_listing": ("listing", "prospective_listing", "removal", "denial"),
    "sanctions_removal": ("removal", "prospective_removal", "denial"),
    "tariff_announcement": ("imposed", "prospective_imposed", "threat", "pause", "cut", "denial"),
    "factory_opening": ("announcement", "plan", "construction", "production", "delay", "cancellation"),
}

# The status a rule milestone has when nothing in the sentence says otherwise.
DEFAULT_STATUS = {
    "listing": "done",
    "removal": "done",
    "imposed": "done",
    "production": "done",
    "construction": "announced",
    "announcement": "announced",
}

# Milestones of one kind of act (a listing and its prospect, a tariff and its threat); others by type.
FAMILY = {
    "listing": "list",
    "removal": "delist",
    "imposed": "tariff",
    "threat": "tariff",
    "pause": "pause",
    "cut": "pause",
    "denial": "denial",
}

SANCTIONS_TYPES = ("sanctions_listing", "sanctions_removal")
TYPE_LABEL = {
    "sanctions_listing": "Sanctions listing",
    "sanctions_removal": "Sanctions removal",
    "tariff_announcement": "Tariff action",
    "factory_opening": "Factory milestone",
}


# Triage (run.py annotate, the UI's form): what an analyst says of an event, and why an event is false.
VERDICTS = ("confirmed", "false", "duplicate", "corrected")
FALSE_REASONS = ("not_event", "wrong_type", "wrong_status", "wrong_parties", "background")

# the steps an article can fail at, as failures record them (fetch and extract, then the per-article flow)
ARTICLE_STAGES = ("fetch", "extract", "events", "stories", "dedup", "alerts", "store")


def is_core(type_: str, status: str, background: bool = False) -> bool:
    """Rule C, computed: never hand-set."""
    return not background and type_ in CORE_TYPES and status in CORE_STATUSES


def milestone(rule_milestone: str, status: str) -> str:
    """The stage of a thing's life a report speaks of; different milestones never merge."""
    if status == "threatened":
        return "threat"
    if status == "planned" and rule_milestone in ("listing", "imposed", "removal"):
        return "prospective_" + rule_milestone
    if status == "planned" and rule_milestone in ("announcement", "construction", "production"):
        return "plan"
    if status == "denied":
        return "denial"
    return rule_milestone
