"""``run.py healthcheck``: is the daemon alive and keeping up? (as Miniflux's ``-healthcheck``)

Unhealthy, each with its reason, when: no feed was polled for three of the longest poll intervals
(the daemon is not cycling); a webhook is stopped; an alert has been pending longer than three of
the longest delivery backoffs; the log cannot be written (file, folder or lock).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .config import Settings
from .dates import from_iso, iso, utcnow

if TYPE_CHECKING:
    from .store import Store


def problems(
    settings: Settings, store: Store, now: datetime | None = None
) -> tuple[list[str], dict[str, Any]]:
    """The reasons the daemon is unhealthy (none: healthy), and what was looked at."""
    now = now or utcnow()
    st = store.queries.status()
    out: list[str] = []
    polled = [p for p in (from_iso(f["last_polled"]) for f in st["feeds"]) if p]
    if settings.feeds:
        window = timedelta(minutes=3 * max(f.interval_minutes for f in settings.feeds))
        last = max(polled, default=None)
        if last is None:
            out.append("no feed has been polled yet")
        elif now - last > window:
            out.append(f"no feed polled since {iso(last)} (more than three poll intervals, {window})")
    for w in st["webhooks"]:
        if w["state"] == "stopped":
            out.append(f"webhook {w['route']} is stopped: {w['reason']} (resume-alerts once fixed)")
    oldest = from_iso(st["oldest_pending_alert"])
    late = timedelta(seconds=3 * settings.alerts.max_backoff_seconds)
    if oldest is not None and now - oldest > late:
        out.append(f"an alert has been pending since {iso(oldest)} (more than {late})")
    path = store.path
    if path != ":memory:" and not (
        os.access(path, os.W_OK) and os.access(os.path.dirname(os.path.abspath(path)), os.W_OK)
    ):
        out.append(f"the log {path} is not writable")
    elif not store.writable():
        out.append(f"the log {path} cannot take a write lock")
    seen = {
        "feeds": len(settings.feeds),
        "last_poll": iso(max(polled)) if polled else None,
        "outbox": st["outbox"],
    }
    return out, seen


def notify(state: str, env: Mapping[str, str] | None = None) -> bool:
    """Tell systemd (``Type=notify``, ``WatchdogSec=``) how the daemon is: ``READY=1``, ``WATCHDOG=1``
    after every cycle, ``STATUS=...``, ``STOPPING=1``; a datagram to ``$NOTIFY_SOCKET`` (a local socket,
    not the network), as sd_notify(3) sends it. False when not run by systemd or the socket is gone:
    the daemon never stops over it."""
    addr = (os.environ if env is None else env).get("NOTIFY_SOCKET", "")
    if not addr or addr[0] not in "/@":
        return False
    if addr[0] == "@":  # an abstract socket
        addr = "\0" + addr[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.connect(addr)
            s.sendall(state.encode("utf-8", "replace")[:4096])
        return True
    except OSError:
        return False
