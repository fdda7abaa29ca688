"""The fetch stage against a real HTTP server on loopback: limits, address checks, typed errors."""

from __future__ import annotations

import gzip
import time

import pytest
from helpers import dripping
from werkzeug import Response as WResponse

from pipeline.config import NetworkSettings
from pipeline.errors import (
    BlockedAddress,
    ConnectError,
    FetchTimeout,
    HTTPStatusError,
    InvalidURL,
    TooLarge,
    TooManyRedirects,
    UnsupportedContentType,
)
from pipeline.fetch import FEED_TYPES, Fetcher, parse_retry_after


def _fetcher(httpserver, **kw) -> Fetcher:
    return Fetcher(NetworkSettings(allow_hosts=(f"127.0.0.1:{httpserver.port}",), **kw))


def test_internal_addresses_are_refused_by_default(httpserver):
    httpserver.expect_request("/feed").respond_with_data("<rss/>", content_type="application/rss+xml")
    with Fetcher(NetworkSettings()) as f:
        with pytest.raises(BlockedAddress):
            f.get(httpserver.url_for("/feed"), accept=FEED_TYPES)
        with pytest.raises(BlockedAddress):
            f.get("http://169.254.169.254/latest/meta-data/")
        with pytest.raises(BlockedAddress):
            f.get("http://[::1]:9/")
    assert len(httpserver.log) == 0  # never connected


def test_allow_hosts_lets_one_host_port_through_and_nothing_else(httpserver):
    httpserver.expect_request("/ok").respond_with_data("<rss/>", content_type="application/rss+xml")
    with _fetcher(httpserver) as f:
        assert f.get(httpserver.url_for("/ok"), accept=FEED_TYPES).status == 200
        with pytest.raises(BlockedAddress):
            f.get(f"http://127.0.0.1:{httpserver.port + 1}/other")


@pytest.mark.parametrize(
    "target", ["http://127.0.0.1:1/x", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/"]
)
def test_redirect_to_internal_address_is_refused_at_the_hop(httpserver, target):
    httpserver.expect_request("/r").respond_with_response(WResponse(status=302, headers={"Location": target}))
    with _fetcher(httpserver) as f, pytest.raises(BlockedAddress):
        f.get(httpserver.url_for("/r"))


def test_only_http_and_https(httpserver):
    with _fetcher(httpserver) as f:
        for url in ("file:///etc/passwd", "ftp://example.com/x", "gopher://x/"):
            with pytest.raises(InvalidURL):
                f.get(url)


def test_redirect_loop_stops_after_five_hops(httpserver):
    httpserver.expect_request("/loop").respond_with_response(
        WResponse(status=302, headers={"Location": "/loop"})
    )
    with _fetcher(httpserver) as f, pytest.raises(TooManyRedirects):
        f.get(httpserver.url_for("/loop"))
    assert len(httpserver.log) == 6


def test_permanent_redirect_is_reported_temporary_is_not(httpserver):
    httpserver.expect_request("/old").respond_with_response(
        WResponse(status=301, headers={"Location": "/new"})
    )
    httpserver.expect_request("/tmp").respond_with_response(
        WResponse(status=302, headers={"Location": "/new"})
    )
    httpserver.expect_request("/new").respond_with_data("<rss/>", content_type="application/rss+xml")
    with _fetcher(httpserver) as f:
        r = f.get(httpserver.url_for("/old"), accept=FEED_TYPES)
        assert r.permanent_redirect == httpserver.url_for("/new")
        assert f.get(httpserver.url_for("/tmp"), accept=FEED_TYPES).permanent_redirect is None


def test_size_is_counted_after_decompression(httpserver):
    bomb = gzip.compress(b"<p>" + b"a" * 3_000_000)
    httpserver.expect_request("/bomb").respond_with_data(
        bomb, headers={"Content-Encoding": "gzip"}, content_type="text/html"
    )
    with _fetcher(httpserver, max_bytes=1_000_000) as f, pytest.raises(TooLarge):
        f.get(httpserver.url_for("/bomb"))


def test_declared_oversize_body_is_refused_before_reading(httpserver):
    httpserver.expect_request("/big").respond_with_data(b"x" * 200_000, content_type="text/html")
    with _fetcher(httpserver, max_bytes=100_000) as f, pytest.raises(TooLarge):
        f.get(httpserver.url_for("/big"))


def test_content_type_allowlist(httpserver):
    httpserver.expect_request("/img").respond_with_data(b"\x89PNG", content_type="image/png")
    with _fetcher(httpserver) as f, pytest.raises(UnsupportedContentType):
        f.get(httpserver.url_for("/img"), accept=FEED_TYPES)


def test_status_errors_carry_retry_after(httpserver):
    httpserver.expect_request("/busy").respond_with_response(
        WResponse("busy", status=503, headers={"Retry-After": "120"})
    )
    httpserver.expect_request("/gone").respond_with_response(WResponse("gone", status=404))
    with _fetcher(httpserver) as f:
        with pytest.raises(HTTPStatusError) as e:
            f.get(httpserver.url_for("/busy"))
        assert e.value.status == 503 and e.value.retry_after == 120 and e.value.retryable
        with pytest.raises(HTTPStatusError) as e:
            f.get(httpserver.url_for("/gone"))
        assert e.value.status == 404 and not e.value.retryable


def test_conditional_get_sends_validators_and_returns_304(httpserver):
    httpserver.expect_request(
        "/c", headers={"If-None-Match": '"v1"', "If-Modified-Since": "Tue, 10 Mar 2026 10:00:00 GMT"}
    ).respond_with_response(WResponse(status=304))
    with _fetcher(httpserver) as f:
        r = f.get(
            httpserver.url_for("/c"),
            etag='"v1"',
            last_modified="Tue, 10 Mar 2026 10:00:00 GMT",
            accept=FEED_TYPES,
        )
    assert r.status == 304 and r.content == b""


def test_user_agent_is_honest(httpserver):
    httpserver.expect_request("/ua").respond_with_data("ok", content_type="text/plain")
    with _fetcher(httpserver) as f:
        f.get(httpserver.url_for("/ua"))
    assert httpserver.log[0][0].headers["User-Agent"].startswith("tradewire/")


def test_slow_drip_hits_the_overall_deadline(httpserver):
    httpserver.expect_request("/drip").respond_with_handler(dripping(b"<p>x</p>", 40, 0.25, "text/html"))
    with _fetcher(httpserver, deadline=1.5, read_timeout=1.0) as f:
        t0 = time.monotonic()
        with pytest.raises(FetchTimeout):
            f.get(httpserver.url_for("/drip"))
        assert time.monotonic() - t0 < 5


def test_connection_refused_is_a_typed_error():
    with Fetcher(NetworkSettings(allow_private=True, connect_timeout=2)) as f, pytest.raises(ConnectError):
        f.get("http://127.0.0.1:9/")


def test_retry_after_parsing():
    assert parse_retry_after("7") == 7
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0) == 0.0
    assert parse_retry_after("garbage") is None


def test_at_most_two_requests_at_once_to_one_host():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    live, peak, lock = [0], [0], threading.Lock()

    class Slow(BaseHTTPRequestHandler):  # a threaded server, so only the client can limit concurrency
        def log_message(self, *args):
            pass

        def do_GET(self):
            with lock:
                live[0] += 1
                peak[0] = max(peak[0], live[0])
            time.sleep(0.3)
            with lock:
                live[0] -= 1
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        with Fetcher(NetworkSettings(allow_hosts=(f"127.0.0.1:{port}",))) as f:
            threads = [
                threading.Thread(target=f.get, args=(f"http://127.0.0.1:{port}/slow",)) for _ in range(6)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        server.shutdown()
    assert peak[0] == 2
