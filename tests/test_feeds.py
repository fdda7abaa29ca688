"""Feed parsing: identity, time zones, hostile and broken XML. Pure parsing of bytes."""

from __future__ import annotations

import time

import pytest

from pipeline.errors import FeedParseError
from pipeline.feeds import entry_key, parse_feed

RSS = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>T</title>
<item><title>One</title><link>https://news.test/a?utm_source=x</link><guid>g-1</guid>
<pubDate>Tue, 10 Mar 2026 23:30:00 -0500</pubDate></item>
<item><title>Two</title><link>/relative/b</link><pubDate>Wed, 11 Mar 2026 08:00:00 +0200</pubDate></item>
<item><title>No link or guid</title><pubDate>Wed, 11 Mar 2026 09:00:00 GMT</pubDate></item>
<item><title>Dup</title><link>https://news.test/d</link><guid>g-1</guid></item>
</channel></rss>"""


def test_entries_identity_links_and_utc_dates():
    feed = parse_feed("f", RSS.encode(), url="https://news.test/feed.xml")
    keys = [e.key for e in feed.entries]
    assert keys[0] == "guid:g-1"
    assert keys[1] == "link:https://news.test/relative/b"  # relative link resolved against the feed URL
    assert keys[2].startswith("hash:")
    assert len(keys) == 3  # the duplicate guid is dropped
    assert feed.entries[0].published == "2026-03-11T04:30:00Z"  # -05:00 converted to UTC
    assert feed.entries[1].published == "2026-03-11T06:00:00Z"
    assert feed.entries[2].url is None


def test_hash_identity_is_stable_and_depends_on_title_and_date():
    assert entry_key(None, None, "T", "2026-01-01") == entry_key(None, "", "T", "2026-01-01")
    assert entry_key(None, None, "T", "2026-01-01") != entry_key(None, None, "T", "2026-01-02")


def test_billion_laughs_is_rejected_quickly():
    lol = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{"&lol{};".format(i - 1 if i > 1 else "") * 10}">' for i in range(1, 10))
        + "]><rss><channel><item><title>&lol9;</title></item></channel></rss>"
    )
    t0 = time.monotonic()
    with pytest.raises(FeedParseError) as e:
        parse_feed("f", lol.encode())
    assert e.value.reason == "entity_declaration"
    assert time.monotonic() - t0 < 1


@pytest.mark.parametrize(
    "body,reason", [(b"", "empty"), (b"   \n", "empty"), (b"<html><body><p>not a feed</p>", "not_a_feed")]
)
def test_not_a_feed(body, reason):
    with pytest.raises(FeedParseError) as e:
        parse_feed("f", body)
    assert e.value.reason in (reason, "malformed")


def test_malformed_xml_is_recovered_with_a_warning_or_rejected_never_a_crash():
    feed = parse_feed("f", b"<rss><channel><item><title>broken</titl><link>https://x.test/1</link></chan")
    assert feed.warning and feed.entries  # feedparser's loose parser recovers; the warning is recorded
    with pytest.raises(FeedParseError):
        parse_feed("f", b"<?xml version='1.0'?><rss><<<>>>")


def test_non_utf8_without_declaration_still_yields_entries():
    body = (
        "<rss version='2.0'><channel><title>Caf\xe9</title><item><title>Ren\xe9e</title>"
        "<link>https://x.test/1</link></item></channel></rss>"
    )
    feed = parse_feed("f", body.encode("latin-1"))
    assert len(feed.entries) == 1 and feed.entries[0].title.startswith("Ren")


def test_atom_feed():
    atom = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
    <entry><title>E</title><id>urn:x:1</id><link href="https://x.test/e"/><updated>2026-03-01T10:00:00+01:00</updated></entry></feed>"""
    feed = parse_feed("f", atom.encode())
    assert feed.entries[0].key == "guid:urn:x:1" and feed.entries[0].published == "2026-03-01T09:00:00Z"
