"""Feed lists in and out as OPML (``run.py feeds import|export``), through the real CLI."""

from __future__ import annotations

import pytest
from conftest import ROOT, run_cli

from pipeline.config import load_settings
from pipeline.opml import OpmlError, export, import_feeds

READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="Trade &amp; policy">
      <outline type="rss" text="Trade Wire" title="Trade Wire" xmlUrl="https://trade.example/rss"/>
      <outline text="Asia">
        <outline type="rss" text="Asia Desk" xmlUrl="https://asia.example/feed.xml"/>
      </outline>
    </outline>
    <outline type="rss" text="Chain News" xmlUrl="https://chain.example/atom" category="/Crypto/Markets"/>
    <outline type="rss" text="Unfiled" xmlUrl="https://unfiled.example/rss"/>
    <outline type="rss" text="Trade Wire" xmlUrl="https://trade.example/rss"/>
    <outline type="rss" text="Local file" xmlUrl="file:///etc/passwd"/>
    <outline type="link" text="A page, not a feed" url="https://page.example/"/>
  </body>
</opml>
"""


def test_a_feed_readers_export_becomes_feeds_with_their_folders_categories():
    got = import_feeds(READER_EXPORT, default_category="crypto")
    by_url = {f.url: f for f in got.feeds}
    assert list(by_url) == [
        "https://trade.example/rss",
        "https://asia.example/feed.xml",
        "https://chain.example/atom",
        "https://unfiled.example/rss",
    ]
    assert by_url["https://trade.example/rss"].category == "trade"  # its folder
    assert by_url["https://asia.example/feed.xml"].category == "trade"  # the folder around its folder
    assert by_url["https://chain.example/atom"].category == "crypto"  # its own category attribute
    assert by_url["https://unfiled.example/rss"].category == "crypto"  # the default
    assert by_url["https://trade.example/rss"].name == "trade-wire"
    assert by_url["https://trade.example/rss"].outlet == "Trade Wire"
    assert len({f.name for f in got.feeds}) == 4
    assert any("already listed" in s for s in got.skipped)  # listed twice
    assert any("Local file" in s and "http(s)" in s for s in got.skipped)


@pytest.mark.parametrize(
    "doc, says",
    [
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            b"<opml><body><outline xmlUrl='https://a.example/&lol2;'/></body></opml>",
            "document type declaration (DTD) is refused",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE opml SYSTEM "file:///etc/passwd"><opml><body/></opml>',
            "document type declaration (DTD) is refused",
        ),
        (b"<rss><channel/></rss>", "not OPML: the root element is <rss>"),
        (b"<opml><body><outline", "not XML"),
        (b"\xff\xfe garbage", "not XML"),
    ],
)
def test_a_hostile_or_broken_file_is_refused_in_one_line(tmp_path, doc, says):
    with pytest.raises(OpmlError, match=r"(?s).*" + says.replace("(", r"\(").replace(")", r"\)")):
        import_feeds(doc)
    p = tmp_path / "in.opml"
    p.write_bytes(doc)
    res = run_cli("feeds", "import", str(p), timeout=60)
    assert res.returncode != 0 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.strip().splitlines() == [f"Error: {res.stderr.strip().removeprefix('Error: ')}"]
    assert says in res.stderr


def test_append_adds_only_new_feeds_and_leaves_a_configuration_the_daemon_reads(tmp_path):
    config = tmp_path / "tw.toml"
    config.write_text(
        f'[storage]\ndb = "{tmp_path / "tw.db"}"\n\n[[feeds]]\nname = "trade-wire"\n'
        'url = "https://trade.example/rss"\ncategory = "trade"\n'
    )
    config.chmod(0o640)
    src = tmp_path / "reader.opml"
    src.write_bytes(READER_EXPORT)
    res = run_cli("feeds", "import", str(src), "--config", str(config), "--append", timeout=60)
    assert res.returncode == 0, res.stderr
    assert "3 feeds appended" in res.stderr and "already listed" in res.stderr
    s = load_settings(config, env={})
    assert [f.name for f in s.feeds] == ["trade-wire", "asia-desk", "chain-news", "unfiled"]
    assert config.stat().st_mode & 0o777 == 0o640
    again = run_cli("feeds", "import", str(src), "--config", str(config), "--append", timeout=60)
    assert again.returncode == 0 and "0 feeds appended" in again.stderr
    assert len(load_settings(config, env={}).feeds) == 4
    printed = run_cli("feeds", "import", str(src), timeout=60)  # without --append: printed, nothing written
    assert printed.returncode == 0 and printed.stdout.count("[[feeds]]") == 4
    no_config = run_cli("feeds", "import", str(src), "--append", timeout=60)
    assert no_config.returncode != 0 and "--config" in no_config.stderr


def test_export_and_import_again_give_the_same_feeds(tmp_path):
    shipped = load_settings(ROOT / "config" / "example.toml", env={})
    res = run_cli("feeds", "export", "--config", str(ROOT / "config" / "example.toml"), timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout == export(shipped.feeds)
    back = import_feeds(res.stdout.encode())
    assert [(f.name, f.url, f.category, f.outlet) for f in back.feeds] == [
        (f.name, f.url, f.category, f.outlet) for f in shipped.feeds
    ]
    assert not back.skipped
