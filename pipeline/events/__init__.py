"""Stage 4b: article text -> event mentions, by rules that are data (``rules/*.jsonl``).

- ``rules``: loading and validating the rules and cues against the vocabulary;
- ``syntax``: walks over the parse; ``roles``: one role function per event type, by versioned name;
- ``modality``: status, background and event date; ``grouping``: one article's mentions -> events;
- ``extractor``: batching, the prefilter and the parse, then the steps above.
"""

from .extractor import Extractor
from .rules import Cue, Rule, RuleSet

__all__ = ["Cue", "Extractor", "Rule", "RuleSet"]
