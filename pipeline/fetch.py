"""Stage 1: the only module that touches the network.

Every request: only http(s); the host resolved once per hop and refused when any address is internal
(loopback, private, link-local, reserved) unless allowed; the connection pinned to the checked
address (Host header and TLS SNI keep the name), so a DNS answer cannot change between check and
connect; at most ``max_redirects`` hops, each checked again; connect and read timeouts and an
overall deadline; the body counted after decompression and cut off at ``max_bytes``; a content-type
allowlist; at most ``per_host`` concurrent requests to one host. Failures raise the typed
``FetchError`` family of ``errors`` (each with a ``reason`` and whether it is worth retrying).
"""

from __future__ import annotations

import email.utils
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

import httpx

from .config import NetworkSettings
from .errors import (
    BlockedAddress,
    ConnectError,
    FetchTimeout,
    HTTPStatusError,
    InvalidURL,
    TooLarge,
    TooManyRedirects,
    UnsupportedContentType,
)
from .records import Response

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/x-rss+xml",
    "application/xml",
    "text/xml",
    "application/x-netcdf",  # historical misconfiguration of RSS servers
    "text/plain",
    "text/html",  # many feeds are served as text/html; feedparser still reads them
    "application/octet-stream",
)
PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
JSON_TYPES = ("application/json", "text/plain", "text/html")


def _accepted(ctype: str, accept: tuple[str, ...]) -> bool:
    """Listed types, and for feeds any XML type (text/rss+xml, application/xml-dtd, ...)."""
    return ctype in accept or ("application/xml" in accept and "xml" in ctype)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def redact(url: str) -> str:
    """A URL safe to log: scheme and host only (webhook URLs carry their secret in the path); a string
    that does not parse as a URL is not shown at all."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "<unparseable URL>"
    return f"{parts.scheme}://{host}/…" if parts.path not in ("", "/") or parts.query else url


def web_url(url: str) -> tuple[SplitResult, str, int]:
    """The parts, host and port of an http(s) URL with a host, or InvalidURL saying what is wrong.
    Syntax only (no network): what a request, and a link to the page in an alert, may be made of."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"invalid URL: {exc}", url=url) from exc
    if parts.scheme not in ("http", "https"):
        raise InvalidURL(f"scheme {parts.scheme!r} is not allowed (only http and https)", url=url)
    host = parts.hostname
    if not host:
        raise InvalidURL("URL has no host", url=url)
    return parts, host, port or (443 if parts.scheme == "https" else 80)


class _RedactURLs(logging.Filter):
    """httpx logs every request's full URL; a webhook URL carries its secret in the path."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact(str(a)) if isinstance(a, httpx.URL) or (isinstance(a, str) and "://" in a) else a
                for a in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_RedactURLs())


class Fetcher:
    """A thread-safe HTTP client with the limits above. Use as a context manager or call close()."""

    def __init__(self, settings: NetworkSettings) -> None:
        self.settings = settings
        self._client = httpx.Client(
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=settings.deadline,
            ),
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
        )
        self._host_locks: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()
        # told each request's kind ("feed", "page", "webhook") and seconds, however it ended (metrics)
        self.observe: Callable[[str, float], None] | None = None

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    # -- public API ---------------------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: Iterable[str] = PAGE_TYPES,
    ) -> Response:
        """GET with conditional headers; a 304 is returned as a Response with empty content."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        accept = tuple(accept)
        kind = "feed" if accept == FEED_TYPES else "page"
        return self._timed(kind, self._request, "GET", url, headers=headers, accept=accept)

    def post_json(self, url: str, payload: Any) -> Response:
        """POST a JSON body (webhooks). Never follows redirects to another host's secret URL."""
        return self._timed(
            "webhook", self._request, "POST", url, json=payload, accept=None, log_url=redact(url)
        )

    def _timed(self, kind: str, request: Callable[..., Response], *args: Any, **kw: Any) -> Response:
        t0 = time.monotonic()
        try:
            return request(*args, **kw)
        finally:
            if self.observe is not None:
                self.observe(kind, time.monotonic() - t0)

    # -- internals ------------------------------------------------------------------------------

    def _host_semaphore(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            sem = self._host_locks.get(host)
            if sem is None:
                sem = self._host_locks[host] = threading.BoundedSemaphore(self.settings.per_host)
            return sem

    def _resolve(self, url: str) -> tuple[str, str, int, str]:
        """Check a URL and its addresses; return (pinned_url, host, port, host_header)."""
        parts, host, port = web_url(url)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise ConnectError(f"cannot resolve {host}: {exc}", url=url) from exc
        addresses = []
        for info in infos:
            ip = ipaddress.ip_address(info[4][0].split("%", 1)[0])
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
                ip = ip.ipv4_mapped
            addresses.append(ip)
        if not addresses:
            raise ConnectError(f"no address for {host}", url=url)
        if not self._allowed(host, port, addresses):
            bad = next(str(a) for a in addresses if not a.is_global or a.is_multicast)
            raise BlockedAddress(
                f"{host} resolves to internal address {bad}; set [network] allow_private or allow_hosts",
                url=url,
            )
        ip = addresses[0]
        ip_text = f"[{ip}]" if ip.version == 6 else str(ip)
        default_port = (parts.scheme == "https" and port == 443) or (parts.scheme == "http" and port == 80)
        host_header = host if default_port else f"{host}:{port}"
        pinned = urlunsplit((parts.scheme, f"{ip_text}:{port}", parts.path or "/", parts.query, ""))
        return pinned, host, port, host_header

    def _allowed(self, host: str, port: int, addresses: list[Any]) -> bool:
        if self.settings.allow_private:
            return True
        allow = set(self.settings.allow_hosts)
        if f"{host}:{port}" in allow:
            return True
        for ip in addresses:
            if not ip.is_global or ip.is_multicast:
                ip_text = f"[{ip}]" if ip.version == 6 else str(ip)
                if f"{ip_text}:{port}" not in allow:
                    return False
        return True

    def _request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        json: Any = None,
        accept: tuple[str, ...] | None,
        log_url: str | None = None,
    ) -> Response:
        shown = log_url or url
        deadline = time.monotonic() + self.settings.deadline
        current = url
        all_permanent = True
        for hop in range(self.settings.max_redirects + 1):
            pinned, host, port, host_header = self._resolve(current)
            req_headers = dict(headers or {})
            req_headers["Host"] = host_header
            extensions = {"sni_hostname": host} if current.startswith("https") else {}
            sem = self._host_semaphore(f"{host}:{port}")
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not sem.acquire(timeout=remaining):
                raise FetchTimeout(f"deadline of {self.settings.deadline:.0f}s passed", url=shown)
            try:
                status, resp_headers, content = self._send(
                    method, pinned, req_headers, json, extensions, deadline, shown
                )
            finally:
                sem.release()
            if status in (301, 302, 303, 307, 308):
                location = dict(resp_headers).get("location")
                if not location:
                    raise HTTPStatusError(f"redirect {status} without Location", url=shown, status=status)
                if method == "POST":
                    raise HTTPStatusError(
                        f"webhook answered with a redirect ({status})", url=shown, status=status
                    )
                all_permanent = all_permanent and status in (301, 308)
                current = urljoin(current, location.strip())
                continue
            if status >= 400:
                text = content[:300].decode("utf-8", "replace")
                raise HTTPStatusError(
                    f"HTTP {status}",
                    url=shown,
                    status=status,
                    retry_after=parse_retry_after(dict(resp_headers).get("retry-after")),
                    body=text,
                )
            ctype = (dict(resp_headers).get("content-type") or "").split(";", 1)[0].strip().lower()
            if accept is not None and status != 304 and ctype and not _accepted(ctype, accept):
                raise UnsupportedContentType(f"content type {ctype!r} is not accepted here", url=shown)
            return Response(
                url=url,
                final_url=current,
                status=status,
                headers=tuple(resp_headers),
                content=content,
                permanent_redirect=current if (hop > 0 and all_permanent) else None,
            )
        raise TooManyRedirects(f"more than {self.settings.max_redirects} redirects", url=shown)

    def _send(
        self,
        method: str,
        pinned: str,
        headers: dict[str, str],
        json: Any,
        extensions: dict[str, str],
        deadline: float,
        shown: str,
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        limit = self.settings.max_bytes
        try:
            request = self._client.build_request(
                method, pinned, headers=headers, json=json, extensions=extensions
            )
            resp = self._client.send(request, stream=True)
            try:
                declared = resp.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > limit and resp.status_code < 300:
                    raise TooLarge(f"declared size {declared} bytes exceeds {limit}", url=shown)
                chunks: list[bytes] = []
                size = 0
                if resp.status_code not in (301, 302, 303, 307, 308, 304):
                    for chunk in resp.iter_bytes():
                        size += len(chunk)
                        if size > limit:
                            raise TooLarge(f"body exceeds {limit} bytes after decompression", url=shown)
                        if time.monotonic() > deadline:
                            raise FetchTimeout(f"deadline of {self.settings.deadline:.0f}s passed", url=shown)
                        chunks.append(chunk)
                hdrs = [(k.lower(), v) for k, v in resp.headers.multi_items()]
                return resp.status_code, hdrs, b"".join(chunks)
            finally:
                resp.close()
        except httpx.TimeoutException as exc:
            raise FetchTimeout(f"timed out: {type(exc).__name__}", url=shown) from exc
        except httpx.DecodingError as exc:
            raise ConnectError(f"undecodable body: {exc}", url=shown) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise ConnectError(f"connection broken: {type(exc).__name__}", url=shown) from exc
        except httpx.ConnectError as exc:
            raise ConnectError(f"cannot connect: {exc}", url=shown) from exc
        except httpx.HTTPError as exc:
            raise ConnectError(f"{type(exc).__name__}: {exc}", url=shown) from exc
