"""The log as analysts take it away: a table for the terminal, JSON lines (the export contract) and CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

FORMATS = ("table", "jsonl", "csv")
CSV_COLUMNS = (
    "id",
    "type",
    "status",
    "event_date",
    "actors",
    "targets",
    "location",
    "confidence",
    "first_seen",
    "last_seen",
    "source_count",
    "independent_sources",
    "urls",
    "evidence",
)


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def table(events: list[dict[str, Any]]) -> str:
    rows = [("id", "type", "status", "date", "actors", "parties", "src", "conf")]
    for e in events:
        rows.append(
            (
                str(e["id"]),
                e["type"],
                e["status"],
                e["event_date"] or "-",
                _short(", ".join(e["actors"]), 34),
                _short(", ".join(e["targets"]), 46),
                f"{e['independent_sources']}/{e['source_count']}",
                f"{e['confidence']:.2f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: feed text starting like a formula gets a leading
    apostrophe (OWASP's advice for CSV injection); numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_row(e: dict[str, Any]) -> list[Any]:
    first = e["sources"][0]["evidence"][0]["sentence"] if e["sources"] and e["sources"][0]["evidence"] else ""
    return [
        e["id"],
        e["type"],
        e["status"],
        e["event_date"] or "",
        "; ".join(e["actors"]),
        "; ".join(e["targets"]),
        e["location"] or "",
        e["confidence"],
        e["first_seen"],
        e["last_seen"],
        e["source_count"],
        e["independent_sources"],
        " ".join(s["url"] for s in e["sources"]),
        first,
    ]


def render(events: list[dict[str, Any]], fmt: str) -> str:
    """Events in ``fmt`` (one of FORMATS), ready to print (JSON lines and CSV end with a newline)."""
    if fmt == "jsonl":
        return "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(CSV_COLUMNS)
        for e in events:
            w.writerow([cell(v) for v in _csv_row(e)])
        return buf.getvalue()
    return (table(events) if events else "no events") + "\n"


def render_status(st: dict[str, Any]) -> str:
    """``status`` as an operator reads it (``Queries.status``: feeds, queues, outbox, webhooks)."""
    out = [
        f"database: {st['database']} ({st['database_bytes'] / 1e6:.1f} MB), {st['events']} events",
        f"articles: {json.dumps(st['articles'])}",
        f"outbox:   {json.dumps(st['outbox'])}  oldest pending: {st['oldest_pending_alert'] or '-'}",
    ]
    for w in st["webhooks"]:
        out.append(f"webhook {w['route']}: {w['state']}" + (f" - {w['reason']}" if w["reason"] else ""))
    for a in st["parked_alerts"]:
        out.append(f"parked alert {a['id']} (event {a['event_id']}, route {a['route']}): {a['last_error']}")
    out.append("feeds:")
    for f in st["feeds"]:
        out.append(
            f"  {f['name']}: last success {f['last_success'] or 'never'}, next poll {f['next_poll'] or 'now'}, "
            f"errors in a row {f['error_count']}, entries {f['entries_total']}"
        )
        if f["last_error"]:
            out.append(f"    last error ({f['last_error_at']}): {f['last_error_reason']}: {f['last_error']}")
    if st["recent_failures"]:
        out.append("recent failures:")
        out += [
            f"  {r['at']} {r['stage']} {r['item']}: {r['reason']}: {r['message'][:120]}"
            for r in st["recent_failures"][:10]
        ]
    return "\n".join(out)
