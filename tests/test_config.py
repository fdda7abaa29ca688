"""Configuration: one TOML file, every key declared once with a default and documented."""

from __future__ import annotations

import json
import re
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


def test_environment_variables_override_the_file_and_the_defaults(tmp_path):
    p = tmp_path / "tw.toml"
    p.write_text('[dedup]\nwindow_days = 30\n[alerts.slack]\nstatuses = ["done"]\n')
    env = {
        "TRADEWIRE_DEDUP__WINDOW_DAYS": "9",  # over the file
        "TRADEWIRE_STORAGE__DB": str(tmp_path / "env.db"),  # over the default
        "TRADEWIRE_NETWORK__ALLOW_PRIVATE": "yes",
        "TRADEWIRE_NETWORK__ALLOW_HOSTS": "127.0.0.1:8080, 127.0.0.1:9090",
        "TRADEWIRE_ALERTS__SLACK__TYPES": '["sanctions_listing", "sanctions_removal"]',
        "TRADEWIRE_LOG_FORMAT": "json",
        "TRADEWIRE_CONFIG": str(p),  # not a setting: the CLI's option
    }
    s = load_settings(p, env=env)
    assert s.dedup.window_days == 9 and isinstance(s.dedup.window_days, int)
    assert s.storage.db == str(tmp_path / "env.db")
    assert s.network.allow_private is True
    assert s.network.allow_hosts == ("127.0.0.1:8080", "127.0.0.1:9090")
    assert s.alerts.slack.types == ("sanctions_listing", "sanctions_removal")
    assert s.alerts.slack.statuses == ("done",)  # the file's, untouched
    assert s.log_format == "json"
    assert load_settings(p, env={}).dedup.window_days == 30


@pytest.mark.parametrize(
    "var, value, says",
    [
        ("TRADEWIRE_DEDUP__WINDOW_DAYS", "3.5", "TRADEWIRE_DEDUP__WINDOW_DAYS must be a whole number"),
        ("TRADEWIRE_DEDUP__SIMILARITY", "high", "TRADEWIRE_DEDUP__SIMILARITY must be a number, not 'high'"),
        (
            "TRADEWIRE_NETWORK__PER_HOST",
            "0",
            "TRADEWIRE_NETWORK__PER_HOST must be a whole number from 1 to 64",
        ),
        (
            "TRADEWIRE_NETWORK__ALLOW_PRIVATE",
            "maybe",
            "TRADEWIRE_NETWORK__ALLOW_PRIVATE must be true or false",
        ),
        ("TRADEWIRE_ALERTS__SLACK__TYPES", "[1,", "TRADEWIRE_ALERTS__SLACK__TYPES: not a TOML array"),
        ("TRADEWIRE_ALERTS__SLACK__TYPES", "earnings", "unknown event type 'earnings'"),
        ("TRADEWIRE_DEDUP__WINDOWDAYS", "3", "TRADEWIRE_DEDUP__WINDOWDAYS names no setting"),
        ("TRADEWIRE_FEEDS__URL", "https://x.test/f", "TRADEWIRE_FEEDS__URL names no setting"),
    ],
)
def test_a_bad_environment_override_is_one_line_naming_the_variable(var, value, says):
    from conftest import run_cli

    res = run_cli("status", env={var: value, "TRADEWIRE_STORAGE__DB": "/nonexistent/x.db"}, timeout=60)
    assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr
    assert says in res.stderr, res.stderr
    lines = [x for x in res.stderr.splitlines() if x.strip() and not x.startswith(("Usage:", "Try "))]
    assert len(lines) == 1, res.stderr


def test_the_cli_reads_its_log_from_the_environment(tmp_path):
    """An operator who sets TRADEWIRE_STORAGE__DB gets that log from every command."""
    from conftest import run_cli

    from pipeline.store import Store

    db = tmp_path / "from-env.db"
    Store.open(db).close()
    res = run_cli("status", "--json", env={"TRADEWIRE_STORAGE__DB": str(db)}, timeout=60)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["database"] == str(db)


def test_every_setting_has_a_documented_variable():
    from pipeline.config import env_name

    readme = (ROOT / "README.md").read_text()
    keys = [k for k, _d, _h in reference()]
    for key in keys:
        assert f"`{env_name(key)}`" in readme, f"README does not name {env_name(key)}"
    plain = [k for k in keys if "[]" not in k]
    assert len({env_name(k) for k in plain}) == len(plain)  # one variable per setting
    assert {env_name(k) for k in keys if "[]" in k} == {"TRADEWIRE_FEEDS", "TRADEWIRE_ALERTS__ROUTES"}


def test_the_feed_and_route_arrays_come_whole_from_the_environment(tmp_path):
    p = tmp_path / "tw.toml"
    p.write_text('[[feeds]]\nname = "file"\nurl = "https://file.example/rss"\n')
    env = {
        "TRADEWIRE_FEEDS": '[{name = "a", url = "https://a.example/rss", category = "trade"},'
        ' {name = "b", url = "https://b.example/atom"}]',
        "TRADEWIRE_ALERTS__ROUTES": '[{name = "desk", webhook_env = "DESK_HOOK", types = ["tariff_announcement"]}]',
    }
    s = load_settings(p, env=env)
    assert [(f.name, f.category) for f in s.feeds] == [("a", "trade"), ("b", "crypto")]  # replaces the file's
    assert [(r.name, r.types) for r in s.alerts.routes] == [("desk", ("tariff_announcement",))]
    for value, says in [
        ("[{name = 'a'}]", "every [[feeds]] entry needs a name and a url"),
        ('[{name = "a", url = "ftp://x.example/f"}]', "must be an http(s) URL"),
        ('"https://a.example/rss"', "TRADEWIRE_FEEDS must be a TOML array of tables"),
        ("[{name = ", "TRADEWIRE_FEEDS: not a TOML array of tables"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(says)):
            load_settings(None, env={"TRADEWIRE_FEEDS": value})


def test_secrets_come_from_the_variable_a_file_or_a_systemd_credential(tmp_path):
    from pipeline.config import SecretEnv

    (tmp_path / "hook").write_text("https://hooks.test/from-file\n")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "SLACK_WEBHOOK_URL").write_text("https://hooks.test/from-credential")
    assert SecretEnv({"SLACK_WEBHOOK_URL": "https://hooks.test/direct"})["SLACK_WEBHOOK_URL"].endswith(
        "direct"
    )
    by_file = SecretEnv(
        {"SLACK_WEBHOOK_URL_FILE": str(tmp_path / "hook"), "CREDENTIALS_DIRECTORY": str(creds)}
    )
    assert by_file["SLACK_WEBHOOK_URL"] == "https://hooks.test/from-file"  # the newline dropped
    assert SecretEnv({"CREDENTIALS_DIRECTORY": str(creds)})["SLACK_WEBHOOK_URL"].endswith("from-credential")
    assert SecretEnv({"CREDENTIALS_DIRECTORY": str(creds)}).get("OTHER") is None
    (tmp_path / "empty").write_text("\n")
    assert SecretEnv({"SLACK_WEBHOOK_URL_FILE": str(tmp_path / "empty")}).get("SLACK_WEBHOOK_URL") is None
    with pytest.raises(ConfigError, match=r"SLACK_WEBHOOK_URL_FILE: cannot read .*missing"):
        SecretEnv({"SLACK_WEBHOOK_URL_FILE": str(tmp_path / "missing")}).get("SLACK_WEBHOOK_URL")
