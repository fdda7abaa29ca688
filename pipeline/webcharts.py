"""The charts page of the analyst UI (``/charts``, with ``run.py serve``): where people would rather look.

- events over time: one row of weekly bars per type (every week of the last three years with
  events), each bar stacked by status;
- the tariff tracker: tariff actions by imposing country (the gazetteer's country of the acting
  party), stacked by status (imposed, announced, threatened, paused, denied, ...);
- the sanctions timeline: listings and removals by authority, one mark per event at its date.

The page carries its data as JSON and draws it as SVG in the browser with a few lines of plain
JavaScript (no library, nothing fetched from elsewhere); every mark has a tooltip (``<title>``) and a
``data-n`` count, and links to the event or to the filtered events.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from .gazetteer import Gazetteer
from .store import Store
from .vocab import STATUSES, TYPE_LABEL

MAX_WEEKS = 156  # three years of weekly bars; older weeks are left to the log

STATUS_COLOURS = {
    "done": "#1b7837",
    "announced": "#5aae61",
    "planned": "#a6dba0",
    "threatened": "#e08214",
    "denied": "#8073ac",
    "paused": "#fdb863",
    "cancelled": "#b2182b",
}


def chart_data(db_path: str, gazetteer: Gazetteer | None) -> dict[str, Any]:
    """The page's data from the log (read-only): weekly counts, tariffs by country, sanctions."""
    with Store.reading(db_path) as queries:
        raw = queries.chart_counts()
    by_country: dict[str, dict[str, int]] = {}
    for r in raw["tariffs"]:
        codes = sorted(gazetteer.countries({r["actor"]})) if gazetteer and r["actor"] else []
        country = codes[0] if codes else (r["actor"] or "unnamed")
        by_country.setdefault(country, {})
        by_country[country][r["status"]] = by_country[country].get(r["status"], 0) + r["n"]
    tariffs = sorted(
        ({"country": c, "statuses": s, "n": sum(s.values())} for c, s in by_country.items()),
        key=lambda x: (-x["n"], x["country"]),
    )
    return {
        "weeks": _weeks([r["week"] for r in raw["weekly"]]),
        "labels": TYPE_LABEL,
        "statuses": list(STATUSES),
        "colours": STATUS_COLOURS,
        "weekly": raw["weekly"],
        "tariffs": tariffs,
        "sanctions": raw["sanctions"],
    }


def _weeks(found: list[str]) -> list[str]:
    """Every week (its Monday) from the first with events to the last, the last MAX_WEEKS of them."""
    if not found:
        return []
    first, last = date.fromisoformat(min(found)), date.fromisoformat(max(found))
    n = min((last - first).days // 7, MAX_WEEKS - 1)
    return [(last - timedelta(weeks=k)).isoformat() for k in range(n, -1, -1)]


def _json_for_script(data: dict[str, Any]) -> str:
    """JSON that cannot close the script element it sits in (feed text is in it)."""
    return (
        json.dumps(data, ensure_ascii=True)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


SCRIPT = r"""
const D = JSON.parse(document.getElementById('chart-data').textContent);
const NS = 'http://www.w3.org/2000/svg';
function el(name, attrs, parent, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}
function tip(e, text) { el('title', {}, e, text); return e; }
function link(href, parent) { const a = el('a', {href: href}, parent); return a; }
function legend(svg, y) {
  let x = 10;
  for (const s of D.statuses) {
    el('rect', {x: x, y: y, width: 10, height: 10, fill: D.colours[s]}, svg);
    el('text', {x: x + 14, y: y + 9, 'font-size': 11}, svg, s);
    x += 24 + 7 * s.length;
  }
}
function weekly() {
  const box = document.getElementById('weekly');
  const weeks = D.weeks;
  const types = Object.keys(D.labels);
  if (!weeks.length) { box.textContent = 'No dated events yet.'; return; }
  const W = Math.max(700, 140 + weeks.length * 14), rowH = 110;
  const svg = el('svg', {width: W, height: types.length * rowH + 40, id: 'weekly-svg'}, box);
  const max = Math.max(...weeks.map(w => Math.max(...types.map(t =>
    D.weekly.filter(r => r.week === w && r.type === t).reduce((a, r) => a + r.n, 0)))), 1);
  types.forEach((t, i) => {
    const top = 10 + i * rowH, base = top + rowH - 25;
    el('text', {x: 0, y: top + 12, 'font-size': 12, 'font-weight': 'bold'}, svg, D.labels[t]);
    weeks.forEach((w, j) => {
      let y = base;
      for (const s of D.statuses) {
        const r = D.weekly.find(r => r.week === w && r.type === t && r.status === s);
        if (!r) continue;
        const h = Math.max(2, (rowH - 40) * r.n / max);
        y -= h;
        const a = link(`/${D.db}/events?type=${t}&status=${s}&anchor_date__gte=${w}`, svg);
        tip(el('rect', {x: 140 + j * 14, y: y, width: 11, height: h, fill: D.colours[s],
          class: 'bar', 'data-type': t, 'data-status': s, 'data-week': w, 'data-n': r.n}, a),
          `${D.labels[t]}, ${s}, week of ${w}: ${r.n}`);
      }
    });
    el('line', {x1: 140, x2: W, y1: base, y2: base, stroke: '#999'}, svg);
  });
  weeks.forEach((w, j) => { if (j % 4 === 0) el('text', {x: 140 + j * 14, y: types.length * rowH + 5, 'font-size': 9}, svg, w); });
  legend(svg, types.length * rowH + 20);
}
function tariffs() {
  const box = document.getElementById('tariffs');
  if (!D.tariffs.length) { box.textContent = 'No tariff actions yet.'; return; }
  const max = Math.max(...D.tariffs.map(r => r.n));
  const svg = el('svg', {width: 700, height: D.tariffs.length * 22 + 40, id: 'tariffs-svg'}, box);
  D.tariffs.forEach((r, i) => {
    const y = 5 + i * 22;
    el('text', {x: 0, y: y + 13, 'font-size': 12, class: 'country'}, svg, r.country);
    let x = 160;
    for (const s of D.statuses) {
      const n = r.statuses[s];
      if (!n) continue;
      const w = Math.max(3, 480 * n / max);
      tip(el('rect', {x: x, y: y, width: w, height: 16, fill: D.colours[s], class: 'tariff',
        'data-country': r.country, 'data-status': s, 'data-n': n}, svg), `${r.country}, ${s}: ${n}`);
      x += w;
    }
    el('text', {x: x + 4, y: y + 13, 'font-size': 11}, svg, String(r.n));
  });
  legend(svg, D.tariffs.length * 22 + 20);
}
function sanctions() {
  const box = document.getElementById('sanctions');
  if (!D.sanctions.length) { box.textContent = 'No sanctions events yet.'; return; }
  const auths = [...new Set(D.sanctions.map(r => r.authority || 'unnamed'))].sort();
  const days = D.sanctions.map(r => Date.parse(r.day));
  const lo = Math.min(...days), hi = Math.max(...days), span = Math.max(hi - lo, 86400000);
  const svg = el('svg', {width: 900, height: auths.length * 26 + 40, id: 'sanctions-svg'}, box);
  auths.forEach((a, i) => {
    el('text', {x: 0, y: 18 + i * 26, 'font-size': 12, class: 'authority'}, svg, a);
    el('line', {x1: 300, x2: 880, y1: 14 + i * 26, y2: 14 + i * 26, stroke: '#ddd'}, svg);
  });
  for (const r of D.sanctions) {
    const i = auths.indexOf(r.authority || 'unnamed');
    const x = 300 + 580 * (Date.parse(r.day) - lo) / span;
    const a = link(`/event/${r.id}`, svg);
    const shape = r.type === 'sanctions_removal'
      ? el('rect', {x: x - 5, y: 9 + i * 26, width: 10, height: 10, fill: 'none', stroke: '#b2182b', 'stroke-width': 2}, a)
      : el('circle', {cx: x, cy: 14 + i * 26, r: 6, fill: D.colours[r.status] || '#555'}, a);
    shape.setAttribute('class', 'sanction');
    shape.setAttribute('data-id', r.id);
    shape.setAttribute('data-authority', r.authority || 'unnamed');
    tip(shape, `${r.day}: ${r.type === 'sanctions_removal' ? 'removal' : 'listing'} (${r.status}) by ${r.authority || 'unnamed'}: ${r.targets.join('; ')}`);
  }
  el('text', {x: 300, y: auths.length * 26 + 20, 'font-size': 10}, svg, new Date(lo).toISOString().slice(0, 10));
  el('text', {x: 820, y: auths.length * 26 + 20, 'font-size': 10}, svg, new Date(hi).toISOString().slice(0, 10));
}
weekly(); tariffs(); sanctions();
document.body.setAttribute('data-drawn', 'yes');
"""


def page(data: dict[str, Any], db_name: str) -> str:
    payload = _json_for_script({**data, "db": db_name})
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>tradewire: charts</title>
<style>body{{font-family:system-ui,sans-serif;margin:1.5rem}} h2{{margin-top:2rem}} svg{{display:block}}</style>
</head><body>
<h1>tradewire: what the log shows</h1>
<p><a href="/{db_name}/event_list">the log</a> · <a href="/feeds/events.atom">Atom feed of events</a></p>
<h2>Events per week, by type and status</h2><div id="weekly"></div>
<h2>Tariff tracker: actions by imposing country</h2><div id="tariffs"></div>
<h2>Sanctions timeline by authority (circles: listings; squares: removals)</h2><div id="sanctions"></div>
<script type="application/json" id="chart-data">{payload}</script>
<script>{SCRIPT}</script>
</body></html>
"""
