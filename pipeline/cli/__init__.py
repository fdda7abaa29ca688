"""The command line: a thin click layer over the library. ``python run.py COMMAND --config PATH``.

``base`` holds the ``main`` group; each module registers its commands on it when imported here.
"""

from __future__ import annotations

from . import daemon, feeds, log, operate, triage, watch  # noqa: F401  (registers the commands)
from .base import main

__all__ = ["main"]
