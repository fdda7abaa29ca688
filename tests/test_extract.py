"""Extraction from page bytes: the article text without the page's clutter."""

from __future__ import annotations

import pytest

from pipeline.demo import load_site, render_page
from pipeline.errors import ExtractionError
from pipeline.extract import extract_article


def test_demo_page_keeps_the_story_and_drops_the_clutter():
    site = load_site()
    article = site["articles"][0]
    page = render_page(article, site["articles"][1:4]).encode()
    ex = extract_article(page, url="http://news.test/" + article["slug"])
    for para in article["body"]:
        assert para in ex.text
    for clutter in (
        "Skip to content",
        "We use cookies",
        "Related articles",
        "Sign up for our morning briefing",
        "BTC 97,912",
        "All rights reserved",
        site["articles"][1]["title"],
    ):
        assert clutter not in ex.text
    assert ex.published == article["published"][:10]


STORY = (
    "<p>The ministry said on Tuesday that the new controls build on the rules issued on 10/7/2022 and"
    " on 3 March 2023, and that further measures were being studied by officials in the capital.</p>"
    "<p>Officials declined to say when the next list of companies would be published.</p>"
)


@pytest.mark.parametrize(
    "head, published",
    [
        ("", None),  # undated: the dates the story cites are not its publication date
        ('<meta property="article:published_time" content="2024-12-23T08:00:00Z">', "2024-12-23"),
        (
            '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2024-05-02"}</script>',
            "2024-05-02",
        ),
    ],
)
def test_publication_date_comes_from_the_page_metadata_never_from_its_text(head, published):
    page = f"<html><head><title>Controls widened</title>{head}</head><body><article><h1>Controls widened</h1>"
    page += STORY + "</article><footer>&copy; 2026 Example Media Group</footer></body></html>"
    ex = extract_article(page.encode(), url="http://news.test/controls-widened")
    assert "10/7/2022" in ex.text
    assert ex.published == published


def test_publication_date_from_a_time_element_or_the_url():
    body = (
        f"<article><h1>Controls widened</h1><time datetime='2023-09-14'>14 September</time>{STORY}</article>"
    )
    ex = extract_article(f"<html><body>{body}</body></html>".encode(), url="http://news.test/x")
    assert ex.published == "2023-09-14"
    page = f"<html><body><article>{STORY}</article></body></html>".encode()
    assert extract_article(page, url="http://news.test/2022/03/17/controls-widened").published == "2022-03-17"


@pytest.mark.parametrize(
    "page", [b"", b"<html><body><nav>Home</nav></body></html>", b"\x00\x01\x02 binary junk"]
)
def test_pages_without_text_raise_a_typed_error(page):
    with pytest.raises(ExtractionError):
        extract_article(page)


def test_oversize_page_is_refused():
    with pytest.raises(ExtractionError) as e:
        extract_article(b"<p>" + b"x" * 2000 + b"</p>", max_bytes=1000)
    assert e.value.reason == "too_large"


def test_pool_extracts_in_parallel_and_a_page_that_overruns_is_skipped_not_hung():
    from pipeline.errors import ExtractionTimeout
    from pipeline.extract import ExtractionPool

    site = load_site()
    pages = [(render_page(a, []).encode(), None) for a in site["articles"][:3]]
    # a page that takes trafilatura over a second (20,000 paragraphs) against a 0.3 s budget
    paragraphs = "".join(f"<p>Paragraph {i} on trade and tariffs.</p>" for i in range(20_000))
    slow = f"<html><body><article>{paragraphs}</article></body></html>".encode()
    pool = ExtractionPool(workers=2, timeout=0.3)
    try:
        pool.extract_many(pages[:1])  # spawn the workers outside the timed call
        results = pool.extract_many([pages[0], (slow, None), pages[1], pages[2]], max_bytes=10**9)
        assert isinstance(results[1], ExtractionTimeout) and results[1].reason == "timeout"
        for r, a in zip([results[0], results[2], results[3]], site["articles"][:3], strict=True):
            assert (
                not isinstance(r, Exception) and a["body"][0] in r.text
            )  # the pool was replaced and went on
    finally:
        pool.close()


def test_a_page_of_a_hundred_thousand_elements_is_refused_with_its_count():
    """The 990 real pages of the corpus have at most about 10,000 elements; a page of 100,000 is
    refused with its count (recorded as the reason) instead of holding a worker for seconds."""
    from pipeline.extract import MAX_ELEMENTS

    page = "<html><body><article>" + "<span>x</span>" * 100_000 + "</article></body></html>"
    assert MAX_ELEMENTS < 100_000
    with pytest.raises(ExtractionError, match=r"100,00\d HTML elements") as refused:
        extract_article(page.encode())
    assert refused.value.reason == "too_many_elements"
