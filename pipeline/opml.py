"""Feed lists as people keep them: OPML in (``run.py feeds import``) and out (``feeds export``).

An OPML file from a feed reader (Miniflux, FreshRSS, Feedly, NetNewsWire) is parsed from its bytes
with expat, refusing any document type declaration, so no entity can be declared or expanded (the
"billion laughs" file is refused before its first entity). Every outline with an ``xmlUrl`` is a
feed: its name from its title, its category ("crypto" or "trade") from its ``category`` attribute or
the folder outlines around it, its outlet from its title (``export`` writes the name as the text and the
outlet as the title, so a list exported and imported again is the same list). URLs are checked as the configuration
checks them; a feed already listed, or listed twice, is left out and said so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from .config import FeedSettings, check_url
from .errors import ConfigError, TradewireError

MAX_BYTES = 5_000_000
CATEGORIES = ("crypto", "trade")


class OpmlError(TradewireError, ValueError):
    """An OPML file that cannot be read as a feed list: not XML, not OPML, a DTD, too large."""

    stage = "feeds"
    reason = "bad_opml"


@dataclass(frozen=True)
class Imported:
    feeds: tuple[FeedSettings, ...]
    skipped: tuple[str, ...]  # one line each: which outline and why


def _category(words: list[str], default: str) -> str:
    """The first of "trade" / "crypto" the outline's own category or its folders name."""
    for w in words:
        for c in CATEGORIES:
            if c in w.lower():
                return c
    return default


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def parse(data: bytes) -> list[dict[str, str | list[str]]]:
    """Every feed outline of an OPML document: its attributes and the texts of its folders."""
    if len(data) > MAX_BYTES:
        raise OpmlError(f"larger than {MAX_BYTES} bytes: not a feed list")
    parser = expat.ParserCreate()
    found: list[dict[str, str | list[str]]] = []
    stack: list[str] = []  # element names
    folders: list[str] = []
    root: list[str] = []

    def refuse(*_args: object) -> None:
        raise OpmlError("a document type declaration (DTD) is refused: entities are not expanded")

    def start(name: str, attrs: dict[str, str]) -> None:
        if not stack:
            root.append(name)
        stack.append(name)
        if name == "outline":
            url = (attrs.get("xmlUrl") or attrs.get("xmlurl") or "").strip()
            if url:
                found.append({**attrs, "xmlUrl": url, "_folders": list(folders)})
            folders.append(attrs.get("text") or attrs.get("title") or "")

    def end(name: str) -> None:
        stack.pop()
        if name == "outline":
            folders.pop()

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise OpmlError(f"not XML: {expat.errors.messages[exc.code]} (line {exc.lineno})") from None
    if root != ["opml"]:
        raise OpmlError(f"not OPML: the root element is <{root[0] if root else '?'}>, not <opml>")
    return found


def import_feeds(
    data: bytes, existing: tuple[FeedSettings, ...] = (), default_category: str = "crypto"
) -> Imported:
    """The feeds of an OPML document as ``[[feeds]]`` settings, beside ``existing`` ones: new names made
    unique, URLs already listed left out."""
    names = {f.name for f in existing}
    urls = {f.url for f in existing}
    feeds: list[FeedSettings] = []
    skipped: list[str] = []
    for o in parse(data):
        url = str(o["xmlUrl"])
        text = str(o.get("text") or "").strip()
        title = str(o.get("title") or text).strip()
        try:
            check_url(f"feed {title or url}: url", url)
        except ConfigError as exc:
            skipped.append(f"{title or url}: {exc}")
            continue
        if url in urls:
            skipped.append(f"{title or url}: already listed ({url})")
            continue
        base = _slug(text or title) or _slug(urlsplit(url).hostname or "") or "feed"
        name, n = base, 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        folders = [str(x) for x in o["_folders"]]
        category = _category([str(o.get("category") or ""), *reversed(folders)], default_category)
        outlet = title[:80] if title and title != base else ""  # else the URL's host, as by hand
        feeds.append(FeedSettings(name=name, url=url, category=category, outlet=outlet))
        names.add(name)
        urls.add(url)
    return Imported(tuple(feeds), tuple(skipped))


def _toml_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def as_toml(feeds: tuple[FeedSettings, ...] | list[FeedSettings]) -> str:
    """``[[feeds]]`` tables, as the configuration file holds them."""
    out = []
    for f in feeds:
        lines = ["[[feeds]]", f"name = {_toml_string(f.name)}", f"url = {_toml_string(f.url)}"]
        lines.append(f"category = {_toml_string(f.category)}")
        lines.append(f"interval_minutes = {f.interval_minutes:g}")
        if f.outlet:
            lines.append(f"outlet = {_toml_string(f.outlet)}")
        out.append("\n".join(lines))
    return "\n\n".join(out) + ("\n" if out else "")


def export(feeds: tuple[FeedSettings, ...] | list[FeedSettings], title: str = "tradewire feeds") -> str:
    """An OPML 2.0 document of the feeds, one folder per category (what a feed reader imports)."""
    body = []
    for c in CATEGORIES:
        mine = [f for f in feeds if f.category == c]
        if not mine:
            continue
        body.append(f"    <outline text={quoteattr(c)} title={quoteattr(c)}>")
        for f in mine:
            body.append(
                f'      <outline type="rss" text={quoteattr(f.name)} title={quoteattr(f.outlet or f.name)} '
                f"xmlUrl={quoteattr(f.url)} category={quoteattr('/' + c)}/>"
            )
        body.append("    </outline>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n'
        f"  <head><title>{escape(title)}</title></head>\n  <body>\n"
        + "\n".join(body)
        + "\n  </body>\n</opml>\n"
    )
