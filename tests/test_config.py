"""Configuration: one TOML file, every key declared once with a default and documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import ConfigError, Settings, load_settings, reference

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_without_a_file():
    s = load_settings(None)
    assert s == Settings()
    assert s.network.allow_private is False
    assert s.alerts.slack.types == ("sanctions_listing",) and s.alerts.slack.statuses == ("done", "announced")


def test_example_config_parses_with_real_feeds():
    s = load_settings(ROOT / "config" / "example.toml")
    assert len(s.feeds) >= 6
    assert {f.category for f in s.feeds} == {"crypto", "trade"}
    assert all(f.url.startswith("https://") for f in s.feeds)


@pytest.mark.parametrize(
    "text,msg",
    [
        ("[storage]\ndbx = 1\n", "unknown key"),
        ("[network]\nallow_private = 'yes'\n", "true or false"),
        ("[[feeds]]\nname = 'a'\nurl = 'https://x'\ncategory = 'sports'\n", "category"),
        ("[[feeds]]\nname = 'a'\nurl = 'https://x'\n[[feeds]]\nname = 'a'\nurl = 'https://y'\n", "unique"),
        ("[alerts.slack]\ntypes = ['earnings']\n", "unknown event type"),
        ("not toml = = 1", "tw.toml"),
    ],
)
def test_bad_configuration_is_a_clear_error(tmp_path, text, msg):
    p = tmp_path / "tw.toml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=msg):
        load_settings(p)


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for key, _default, help_text in reference():
        assert f"`{key}`" in readme, f"README does not document {key}"
        assert help_text


def test_json_log_format_gives_one_json_object_per_line(tmp_path):
    import json

    from click.testing import CliRunner

    from pipeline.cli import main

    cfg = tmp_path / "j.toml"
    cfg.write_text(
        f'log_format = "json"\n[storage]\ndb = "{tmp_path / "j.db"}"\n'
        '[[feeds]]\nname = "internal"\nurl = "http://127.0.0.1:9/feed.xml"\n'
    )
    res = CliRunner().invoke(main, ["once", "--config", str(cfg), "--drain", "0"])
    assert res.exit_code == 0, res.output
    logs = [json.loads(line) for line in res.stderr.splitlines() if line.startswith("{")]
    assert any(r["level"] == "warning" and "blocked_address" in r["message"] for r in logs)


@pytest.mark.parametrize(
    "text, says",
    [
        ("[network]\nper_host = 0\n", "network.per_host must be a whole number from 1 to 64, not 0"),
        ("[network]\nread_timeout = inf\n", "network.read_timeout must be a number"),
        ("[network]\nread_timeout = nan\n", "network.read_timeout must be a number"),
        ("[network]\nmax_bytes = 1e300\n", "network.max_bytes must be a whole number"),
        ("[network]\nextract_workers = 2.5\n", "network.extract_workers must be a whole number"),
        ("[storage]\nbusy_timeout_ms = -5\n", "storage.busy_timeout_ms must be a whole number from 0"),
        ("[dedup]\nsimilarity = 1.5\n", "dedup.similarity must be a number from 0 to 1"),
        ("[serve]\nmax_rows = 0\n", "serve.max_rows must be a whole number from 1"),
        ("[[feeds]]\nname = 'a'\nurl = 'ftp://x.test/f'\n", "feed a: url must be an http(s) URL with a host"),
        ("[[feeds]]\nname = 'a'\nurl = 'http://[::1/f'\n", "feed a: url 'http://[::1/f' is not a URL"),
        (
            "[[feeds]]\nname = 'a'\nurl = 'http://a.test:99999/f'\n",
            "feed a: url 'http://a.test:99999/f' is not a URL",
        ),
        ("[[feeds]]\nname = 'a'\nurl = 'https:///f'\n", "feed a: url must be an http(s) URL with a host"),
    ],
)
def test_every_bad_value_is_one_line_naming_the_key_and_what_is_allowed(tmp_path, text, says):
    """Through the real CLI: one line on stderr, a nonzero exit, never a traceback or a fallback."""
    from conftest import run_cli

    p = tmp_path / "tw.toml"
    p.write_text(text)
    res = run_cli("status", "--config", str(p), timeout=60)
    assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert says in res.stderr, res.stderr
    assert len([line for line in lines if not line.startswith(("Usage:", "Try "))]) == 1, res.stderr


def test_a_configuration_file_that_is_not_utf8_is_one_line(tmp_path):
    p = tmp_path / "tw.toml"
    p.write_bytes(b"[storage]\ndb = 'caf\xe9.db'\n")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_settings(p)


def test_a_misnamed_spacy_model_stops_once_and_process_in_one_line(tmp_path):
    from conftest import run_cli

    cfg = tmp_path / "tw.toml"
    cfg.write_text(f'[storage]\ndb = "{tmp_path / "a.db"}"\n[nlp]\nspacy_model = "en_core_web_nosuch"\n')
    src = tmp_path / "in.jsonl"
    src.write_text('{"url": "https://a.test/1", "text": "Commerce added Acme to the Entity List."}\n')
    for args in (("once",), ("process", str(src))):
        res = run_cli(*args, "--config", str(cfg), timeout=120)
        assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr
        assert res.stderr.strip().splitlines() == [
            "Error: spaCy model 'en_core_web_nosuch' (nlp.spacy_model) is not installed: pip install it, or fix the name"
        ]
