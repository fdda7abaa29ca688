"""What a report names, as the stages compare it: party names (keys, counted groups) and money amounts.

Shared by extraction (grouping one article's sentences), dedup (merging reports) and the store
(merging party lists), so the comparison is the same everywhere.
"""

from __future__ import annotations

import re

_SUFFIX = re.compile(
    r"[,.]?\s+(inc|incorporated|corp|corporation|co|company|ltd|limited|llc|plc|ag|sa|holdings|group)\.?$",
    re.I,
)

# "28 Chinese entities", "dozens of companies", "seven members of ...": a counted group, not a name
GROUP_RX = re.compile(
    r"\b((?:\d[\d,]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a dozen|dozens of|several|more than \d[\d,]*|"
    r"about \d[\d,]*|nearly \d[\d,]*|over \d[\d,]*)\s+(?:of its\s+)?(?:[\w.'-]+\s+){0,3}?(?:entities|companies|firms|individuals|"
    r"persons|people|organizations|organisations|addresses|vessels|parties|businesses|chipmakers|suppliers|exchanges|"
    r"affiliates|subsidiaries|designers|makers|banks|traders|networks|nationals|citizens|members|officials|"
    r"individuals|oligarchs|leaders|executives|ships|tankers|aircraft|airlines|entities and individuals))\b"
)
_MONEY = re.compile(r"\$?\s?(\d[\d,.]*)\s*(billion|million|bn|trillion)", re.I)


def name_key(name: str) -> str:
    """Comparison key of a party's name: case, punctuation and corporate suffixes ignored."""
    k = name.lower().strip()
    for _ in range(2):
        k = _SUFFIX.sub("", k)
    return re.sub(r"[^a-z0-9]+", " ", k).strip()


def is_group(name: str) -> bool:
    return GROUP_RX.fullmatch(name) is not None


def unique_names(items: list[str]) -> list[str]:
    """Drop repeats; of two spellings of one name the longer is kept, in first-seen position."""
    out: list[str] = []
    pos: dict[str, int] = {}
    for it in items:
        k = name_key(it)
        if not k:
            continue
        if k in pos:
            if len(it) > len(out[pos[k]]):
                out[pos[k]] = it
            continue
        pos[k] = len(out)
        out.append(it)
    return out


def union_names(a: list[str], b: list[str] | tuple[str, ...], limit: int = 20) -> list[str]:
    """``a`` followed by the names of ``b`` it does not have yet (by name key)."""
    seen = {name_key(x) for x in a}
    out = list(a)
    for x in b:
        if name_key(x) not in seen:
            seen.add(name_key(x))
            out.append(x)
    return out[:limit]


def money(amounts: set[str]) -> set[str]:
    """Money amounts as keys: "$34 billion" -> "34b"."""
    return {m.group(1).replace(",", "") + m.group(2).lower()[:1] for x in amounts for m in _MONEY.finditer(x)}


def amounts_compatible(a: set[str], b: set[str]) -> bool:
    """Money amounts named by both sides must share one ("$34 billion" vs "$200 billion": different tariffs)."""
    ma, mb = money(a), money(b)
    return not ma or not mb or bool(ma & mb)
