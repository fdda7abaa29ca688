"""Canonical entities from ``rules/entities.jsonl``: aliases resolve to one name, and authority links.

One JSON object a line: ``id``, ``canonical``, ``kind`` (authority, government, company, list),
``country``, ``aliases``, ``demonyms``, ``roles`` (what an authority or government acts on: "sanctions",
"tariffs"), and the authority links that used to be code:
- ``authority`` on a list: the id of the authority that keeps it (the Entity List -> BIS);
- ``default_for`` on an authority or government: the roles it is its country's acting body for when a
  report names only the country ("China blacklisted ..." -> China's Ministry of Commerce;
  "Washington raised tariffs ..." -> United States).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import RulesError

KINDS = ("authority", "government", "company", "list")
LABELS = {"authority": "AUTHORITY", "government": "GOV", "company": "COMPANY", "list": "LIST"}
ROLES = ("sanctions", "tariffs")


@dataclass(frozen=True)
class GazEntity:
    id: str
    canonical: str
    kind: str
    country: str
    aliases: tuple[str, ...]
    demonyms: tuple[str, ...]
    roles: tuple[str, ...]
    authority: str = ""  # lists: the authority that keeps the list
    default_for: tuple[str, ...] = ()  # the roles this body acts for on behalf of its country


class Gazetteer:
    """Entities that matter to trade and sanctions analysts, with aliases; data in rules/."""

    def __init__(self, entities: list[GazEntity]) -> None:
        self.entities = {e.id: e for e in entities}
        self._by_alias: dict[str, GazEntity] = {}
        self._by_canonical: dict[str, GazEntity] = {}
        self._defaults: dict[tuple[str, str], GazEntity] = {}
        for e in entities:
            self._by_canonical[e.canonical.lower()] = e
            for a in (*e.aliases, *e.demonyms, e.canonical):
                self._by_alias.setdefault(a.lower(), e)
            for role in e.default_for:
                self._defaults.setdefault((e.country, role), e)
        for e in entities:
            if e.authority and e.authority not in self.entities:
                raise RulesError(f"entity {e.id}: unknown authority {e.authority!r}")

    @classmethod
    def load(cls, rules_dir: str | Path) -> Gazetteer:
        path = Path(rules_dir) / "entities.jsonl"
        entities = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                entities.append(_entity(json.loads(line)))
            except (KeyError, TypeError, json.JSONDecodeError) as exc:
                raise RulesError(f"{path}:{n}: bad entity: {exc}") from exc
            except RulesError as exc:
                raise RulesError(f"{path}:{n}: {exc}") from exc
        return cls(entities)

    def get(self, entity_id: str) -> GazEntity | None:
        return self.entities.get(entity_id)

    def resolve(self, name: str) -> GazEntity | None:
        """Alias or canonical name -> entity (case-insensitive)."""
        key = name.strip().lower()
        return self._by_alias.get(key) or self._by_canonical.get(key)

    def canonical(self, name: str) -> str:
        e = self.resolve(name)
        return e.canonical if e else name.strip()

    def names_for(self, name: str) -> list[str]:
        """All spellings that refer to the same entity as ``name`` (for alias-aware search)."""
        e = self.resolve(name)
        if not e:
            return [name]
        return [e.canonical, *e.aliases]

    def keeper_of(self, list_ids: list[str]) -> GazEntity | None:
        """The authority that keeps the first of these lists that names one."""
        for lid in list_ids:
            e = self.entities.get(lid)
            if e is not None and e.authority:
                return self.entities[e.authority]
        return None

    def default_actor(self, country: str, role: str) -> GazEntity | None:
        """The body that acts for ``country`` on ``role`` ("sanctions" or "tariffs"), if one is named."""
        return self._defaults.get((country, role))

    def countries(self, names: set[str] | list[str]) -> set[str]:
        """The countries (or canonical names) of the governments and authorities among ``names``."""
        out = set()
        for n in names:
            e = self.resolve(n)
            if e is not None and e.kind in ("government", "authority"):
                out.add(e.country or e.canonical)
        return out

    def patterns(self) -> list[dict[str, Any]]:
        out = []
        for e in self.entities.values():
            label = LABELS[e.kind]
            for a in (*e.aliases, e.canonical):
                out.append({"label": label, "pattern": a, "id": e.id})
            for d in e.demonyms:
                out.append({"label": "DEMONYM", "pattern": d, "id": e.id})
        return out


def names_for_all(gazetteer: Gazetteer, names: tuple[str, ...] | list[str]) -> list[str]:
    """Every spelling of each of ``names`` (alias-aware search)."""
    out: list[str] = []
    for n in names:
        out.extend(gazetteer.names_for(n))
    return out


def alias_pairs(gazetteer: Gazetteer) -> list[tuple[str, str]]:
    """(name, canonical) for every name of every entity, the canonical name itself included."""
    return [(n, e.canonical) for e in gazetteer.entities.values() for n in (e.canonical, *e.aliases)]


def filter_names(
    gazetteer: Gazetteer, entities: tuple[str, ...] | list[str], countries: tuple[str, ...] | list[str]
) -> tuple[list[str], list[str]]:
    """What the entity and country filters of ``events`` (and of the feeds) compare with: every name of
    each entity, and the canonical names of each country's parties and places. A country the gazetteer
    does not know is a ValueError naming it (never a filter dropped, which would return everything)."""
    found = {c: country_names(gazetteer, [c]) for c in countries}
    unknown = [c for c, names in found.items() if not names]
    if unknown:
        raise ValueError(f"unknown country {', '.join(map(repr, unknown))}")
    places = sorted({n for names in found.values() for n in names})
    return (names_for_all(gazetteer, entities) if entities else []), places


def country_names(gazetteer: Gazetteer, codes: tuple[str, ...] | list[str]) -> list[str]:
    """Canonical names of the entities of these countries (ISO codes or names)."""
    wanted = {c.upper() for c in codes}
    out = [
        e.canonical
        for e in gazetteer.entities.values()
        if e.country.upper() in wanted or e.canonical.upper() in wanted
    ]
    for c in codes:
        e = gazetteer.resolve(c)
        if e:
            out.append(e.canonical)
    return sorted(set(out))


def _entity(d: dict[str, Any]) -> GazEntity:
    if d["kind"] not in KINDS:
        raise RulesError(f"entity {d['id']}: unknown kind {d['kind']!r} (one of {', '.join(KINDS)})")
    unknown = set(d.get("roles", ())) | set(d.get("default_for", ()))
    unknown -= set(ROLES)
    if unknown:
        raise RulesError(f"entity {d['id']}: unknown role(s) {', '.join(sorted(unknown))}")
    return GazEntity(
        id=d["id"],
        canonical=d["canonical"],
        kind=d["kind"],
        country=d.get("country", ""),
        aliases=tuple(d.get("aliases", ())),
        demonyms=tuple(d.get("demonyms", ())),
        roles=tuple(d.get("roles", ())),
        authority=d.get("authority", ""),
        default_for=tuple(d.get("default_for", ())),
    )
