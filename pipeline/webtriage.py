"""The annotation form of the analyst UI (``/annotate/ID``, with ``run.py serve``): the same verdicts as
``run.py annotate``, checked by the same code (``triage.check``), written to the annotations database
beside the log (never to the log, which the web server only reads), attributed to the user the access
token's HTTP Basic name gives, else to the name typed in the form.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from typing import Any

from .store import Store
from .store.annotations import Annotation, AnnotationLog
from .triage import TriageError, annotate
from .vocab import EVENT_TYPES, FALSE_REASONS, STATUSES

MAX_FORM_BYTES = 20_000


def basic_user(authorization: str) -> str:
    """The user name of an HTTP Basic ``Authorization`` header ("" when there is none)."""
    if not authorization.startswith("Basic "):
        return ""
    try:
        return base64.b64decode(authorization[6:]).decode("utf-8").partition(":")[0][:200]
    except ValueError:
        return ""


def _names(text: str) -> tuple[str, ...] | None:
    names = tuple(x.strip() for x in text.splitlines() if x.strip())
    return names or None


def annotation_from_form(event_id: int, form: Mapping[str, str], user: str) -> Annotation:
    """The form's fields as an Annotation (checked by ``triage.check`` when recorded)."""
    verdict = form.get("verdict", "")
    dup = form.get("duplicate_of", "").strip()
    if dup and not dup.isdigit():
        raise TriageError("duplicate of: an event id")
    return Annotation(
        event_id=event_id,
        verdict=verdict,
        author=user or form.get("author", "").strip(),
        reason=(form.get("reason") or None) if verdict == "false" else None,
        duplicate_of=int(dup) if dup and verdict == "duplicate" else None,
        type=form.get("type") or None,
        status=form.get("status") or None,
        actors=_names(form.get("actors", "")),
        targets=_names(form.get("targets", "")),
        note=form.get("note", "").strip()[:2000] or None,
    )


def record(db_path: str, annotations_path: str, a: Annotation) -> int:
    """Check ``a`` against the log (read-only) and write it to the annotations database."""
    with Store.reading(db_path) as queries, AnnotationLog(annotations_path) as log:
        return annotate(queries, log, a)


def page_data(
    db_path: str, annotations_path: str, event_id: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The event (KeyError when there is none) and its annotations."""
    with Store.reading(db_path) as queries:
        event = queries.export_event(event_id)
    with AnnotationLog(annotations_path) as log:
        return event, log.history(event_id)


def _options(values: tuple[str, ...], blank: str) -> str:
    return f'<option value="">{blank}</option>' + "".join(
        f'<option value="{html.escape(v)}">{html.escape(v)}</option>' for v in values
    )


def page(
    event: dict[str, Any],
    history: list[dict[str, Any]],
    *,
    csrftoken: str,
    user: str,
    db_name: str,
    message: str = "",
) -> str:
    """The form's page: the event, its evidence and sources, its annotations, the form."""
    e = {k: html.escape(str(v)) for k, v in event.items() if isinstance(v, str | int | float) or v is None}
    parties = html.escape("; ".join(event["targets"]) or "not named")
    actors = html.escape(", ".join(event["actors"]) or "unknown")
    evidence = "".join(
        f'<li><a href="{html.escape(s["url"], quote=True)}" rel="noreferrer">{html.escape(s["outlet"] or s["url"])}</a>: '
        + html.escape(
            next((x["sentence"] for x in s["evidence"] if x.get("field") != "title"), s["title"] or "")
        )
        + "</li>"
        for s in event["sources"][:20]
    )
    past = "".join(
        f"<tr><td>{html.escape(h['at'][:16])}</td><td>{html.escape(h['author'] or '')}</td>"
        f"<td>{html.escape(h['verdict'])}</td><td>{html.escape(h['reason'] or '')}</td>"
        f"<td>{html.escape(h['note'] or '')}</td></tr>"
        for h in history
    )
    who = (
        f"<p>As <b>{html.escape(user)}</b></p>"
        if user
        else '<p><label>Your name <input name="author" required maxlength="200"></label></p>'
    )
    said = f'<p class="message" role="status">{html.escape(message)}</p>' if message else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Annotate event {e["id"]}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}
label{{display:block;margin:.4rem 0}} textarea{{width:100%}} .message{{background:#e8f5e9;padding:.5rem}}
table{{border-collapse:collapse}} td{{border-top:1px solid #ddd;padding:.2rem .5rem}}</style></head>
<body>
<p><a href="/{html.escape(db_name)}/events/{e["id"]}">event {e["id"]} in the log</a></p>
<h1>{e["type"]} ({e["status"]}): {actors}</h1>
{said}
<p><b>Parties</b>: {parties}<br><b>Event date</b>: {e.get("event_date") or "not stated"}
<br><b>Confidence</b>: {e["confidence"]}</p>
<h2>Sources</h2><ul>{evidence}</ul>
<h2>Annotations</h2>
<table><tr><td>when</td><td>who</td><td>verdict</td><td>reason</td><td>note</td></tr>{past}</table>
<h2>Your verdict</h2>
<form method="post" action="/annotate/{e["id"]}">
<input type="hidden" name="csrftoken" value="{html.escape(csrftoken)}">
{who}
<label>Verdict <select name="verdict" required>
<option value="confirmed">confirmed: right</option><option value="false">false</option>
<option value="duplicate">duplicate of another event</option><option value="corrected">corrected</option>
</select></label>
<label>Why false <select name="reason">{_options(FALSE_REASONS, "(for a false event)")}</select></label>
<label>Duplicate of event <input name="duplicate_of" inputmode="numeric" pattern="[0-9]*"></label>
<label>Right type <select name="type">{_options(EVENT_TYPES, "(unchanged)")}</select></label>
<label>Right status <select name="status">{_options(STATUSES, "(unchanged)")}</select></label>
<label>Right actors, one per line <textarea name="actors" rows="2"></textarea></label>
<label>Right parties, one per line <textarea name="targets" rows="3"></textarea></label>
<label>Note <textarea name="note" rows="2" maxlength="2000"></textarea></label>
<button type="submit">Save</button>
</form>
</body></html>
"""
