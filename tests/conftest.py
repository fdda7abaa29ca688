"""Shared fixtures: loopback servers, configuration files, the CLI as a subprocess, the real models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def needs_shared(*parts: str) -> pytest.MarkDecorator:
    path = SHARED.joinpath(*parts)
    return pytest.mark.skipif(not path.exists(), reason=f"{path} is absent (it exists in CI)")


def toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def write_config(
    path: Path, *, db: Path, feeds: list[tuple[str, str, str]], allow_hosts: list[str], extra: str = ""
) -> Path:
    lines = [
        "[storage]",
        f'db = "{db}"',
        "[network]",
        f"allow_hosts = {toml_list(allow_hosts)}",
        "read_timeout = 5.0",
        "deadline = 15.0",
    ]
    for name, url, category in feeds:
        lines += [
            "[[feeds]]",
            f'name = "{name}"',
            f'url = "{url}"',
            f'category = "{category}"',
            "interval_minutes = 15",
        ]
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


def demo_config(tmp_path: Path, site, slack=None, extra: str = "") -> Path:
    """A configuration for the bundled demo site's two feeds (and a Slack catcher) on loopback."""
    allow = [site.host_port] + ([slack.host_port] if slack else [])
    return write_config(
        tmp_path / "tw.toml",
        db=tmp_path / "tw.db",
        feeds=[("ledger", site.feed_url("ledger"), "crypto"), ("desk", site.feed_url("desk"), "trade")],
        allow_hosts=allow,
        extra=extra,
    )


def start_daemon(config: Path, env: dict[str, str] | None = None, **popen: Any) -> subprocess.Popen:
    """``run.py run`` on ``config`` with a half-second tick, as its own process (the caller stops it)."""
    full_env = {k: v for k, v in os.environ.items() if k != "SLACK_WEBHOOK_URL"}
    full_env.update(env or {})
    return subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "run", "--config", str(config), "--tick", "0.5"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=full_env,
        cwd=ROOT,
        **popen,
    )


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "SLACK_WEBHOOK_URL"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=ROOT,
    )


@pytest.fixture
def demo_site():
    from pipeline.demo import DemoSite

    site = DemoSite().start()
    yield site
    site.stop()


@pytest.fixture
def slack():
    from pipeline.demo import SlackCatcher

    catcher = SlackCatcher().start()
    yield catcher
    catcher.stop()


@pytest.fixture(scope="session")
def models():
    from pipeline.config import NlpSettings
    from pipeline.nlp import Models

    s = NlpSettings()
    return Models.get(s.spacy_model, s.rules_dir, s.numpy_ops)


@pytest.fixture(scope="session")
def extractor(models):
    """The extractor as the product runs it: the rules' readings and the trained decisions."""
    from pipeline.config import NlpSettings
    from pipeline.events import Extractor

    return Extractor(NlpSettings(), models)


@pytest.fixture(scope="session")
def rules_extractor(models):
    """The rules alone (no trained decisions): what the rules' example sentences test."""
    from pipeline.config import NlpSettings
    from pipeline.events import Extractor

    return Extractor(NlpSettings(), models, decisions=None)


@pytest.fixture
def flow(tmp_path, models):
    """A pipeline over a fresh log in tmp_path, with no alert route and no feed."""
    from pipeline.config import Settings, StorageSettings
    from pipeline.flow import Pipeline

    p = Pipeline(Settings(storage=StorageSettings(db=str(tmp_path / "flow.db"))), env={})
    yield p
    p.close()
