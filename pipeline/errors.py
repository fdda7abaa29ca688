"""Typed errors, one module: every failure says which stage it came from and why (``reason``, a short
machine-readable code), so a failed item is recorded as data, never as a bare traceback.

The CLI turns these into one-line messages; the flow records them per item (``failures`` table and the
article's ``error_reason``) with their stage.
"""

from __future__ import annotations

import re


class TradewireError(Exception):
    """Base of every error the product raises on purpose."""

    stage = "pipeline"
    reason = "error"
    retryable = False


class ConfigError(TradewireError, ValueError):
    """The configuration file is unreadable or holds an unknown key or a wrong value."""

    stage = "config"
    reason = "bad_config"


class RulesError(TradewireError, ValueError):
    """A rule, cue, lexicon or gazetteer file in ``rules/`` is malformed; the message names the rule id."""

    stage = "rules"
    reason = "bad_rule"


class ModelError(TradewireError, ValueError):
    """A model file in ``models/`` is missing, malformed or does not match the code's features."""

    stage = "models"
    reason = "bad_model"


# -- fetch -------------------------------------------------------------------------------------


class FetchError(TradewireError):
    """A request that did not give usable bytes."""

    stage = "fetch"
    reason = "fetch_error"
    retryable = True

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class InvalidURL(FetchError):
    reason = "invalid_url"
    retryable = False


class BlockedAddress(FetchError):
    reason = "blocked_address"
    retryable = False


class FetchTimeout(FetchError):
    reason = "timeout"


class ConnectError(FetchError):
    reason = "connect_error"


class TooLarge(FetchError):
    reason = "too_large"
    retryable = False


class TooManyRedirects(FetchError):
    reason = "too_many_redirects"
    retryable = False


class UnsupportedContentType(FetchError):
    reason = "content_type"
    retryable = False


class HTTPStatusError(FetchError):
    """The server answered with a status of 400 or more."""

    reason = "http_status"

    def __init__(
        self, message: str, *, url: str = "", status: int, retry_after: float | None = None, body: str = ""
    ) -> None:
        super().__init__(message, url=url)
        self.status = status
        self.retry_after = retry_after
        self.body = body
        self.retryable = status in (408, 425, 429) or status >= 500


# -- parse stages ------------------------------------------------------------------------------


class _Reasoned(TradewireError):
    """An error whose reason is given per instance (and survives pickling across processes)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.reason, str(self)))


class FeedParseError(_Reasoned, ValueError):
    """The bytes are not a feed we can read."""

    stage = "feed"


class ExtractionError(_Reasoned, ValueError):
    """No article text could be extracted."""

    stage = "extract"


class ExtractionTimeout(ExtractionError):
    def __init__(self, seconds: float | str, message: str | None = None) -> None:
        if message is None:
            message = f"extraction took longer than {float(seconds):g}s; the page was skipped"
        super().__init__("timeout", message)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (ExtractionTimeout, ("timeout", str(self)))


class StageError(_Reasoned):
    """A processing step failed: ``stage`` names the step (events, stories, dedup, store, alerts)."""

    retryable = True

    def __init__(self, stage: str, reason: str, message: str) -> None:
        super().__init__(reason, message)
        self.stage = stage

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (StageError, (self.stage, self.reason, str(self)))

    @classmethod
    def wrap(cls, stage: str, exc: BaseException) -> StageError:
        """The error as a StageError of ``stage`` (a TradewireError keeps its own reason)."""
        if isinstance(exc, StageError):
            return exc
        reason = exc.reason if isinstance(exc, TradewireError) else snake(type(exc).__name__)
        return cls(stage, reason, f"{type(exc).__name__}: {exc}")


class LogError(TradewireError):
    """The log file cannot be used: missing for a reader, empty, not SQLite, damaged, or another
    program's database."""

    stage = "store"
    reason = "bad_log"


class AlertStateError(TradewireError):
    """The log could not record an alert's delivery state: delivery stops before any post it could
    not record (a post whose record failed is never repeated)."""

    stage = "alerts"
    reason = "state_write_failed"


def snake(name: str) -> str:
    """``OperationalError`` -> ``operational_error``: an exception class as a reason code."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
