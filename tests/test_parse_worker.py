"""The parse worker: a second process that parses a backlog's next batch while this one works on the
current one. Its parses are the ones this process would make (the same events, to the field); a worker
that dies costs nothing but speed; a stream stopped early leaves no answer behind for the next one."""

from __future__ import annotations

import json
import logging
import os
import signal
from pathlib import Path

import pytest

from pipeline.config import NlpSettings
from pipeline.nlp import ParseWorker
from pipeline.records import Article

RULES = Path(NlpSettings().rules_dir)


def _batches() -> list[list[Article]]:
    """Articles made of the rules' own example sentences (three or four to an article), in batches."""
    sentences = []
    for line in (RULES / "events.jsonl").read_text().splitlines():
        rule = json.loads(line)
        sentences += [s for s, _ in rule["examples"]["positive"]] + rule["examples"]["negative"]
    arts = [
        Article(
            id=k + 1,
            url=f"http://example.test/{k}",
            title="",
            outlet="example.test",
            published="2026-05-14",
            text="\n".join(sentences[k : k + 4]),
        )
        for k in range(0, len(sentences), 3)
    ]
    return [arts[k : k + 4] for k in range(0, len(arts), 4)]


@pytest.fixture(scope="module")
def worker(models):
    w = ParseWorker(models, batch_size=64)
    yield w
    w.close()


def _in_process(extractor, batches):
    return [extractor.extract_many(b) for b in batches]


def test_the_worker_parses_what_this_process_would(extractor, worker):
    batches = _batches()
    assert len(batches) >= 3
    streamed = list(extractor.extract_stream(batches, worker))
    expected = _in_process(extractor, batches)
    assert streamed == expected
    assert sum(len(ms) for batch in expected for ms in batch) >= 10  # events, not empty answers
    assert not worker.broken


def test_a_stream_stopped_early_leaves_nothing_for_the_next(extractor, worker):
    batches = _batches()
    stream = extractor.extract_stream(batches, worker)
    first = next(stream)
    stream.close()  # the caller stopped (SIGTERM): the next batch's answer was still on its way
    assert first == _in_process(extractor, batches[:1])[0]
    again = list(extractor.extract_stream(batches[1:], worker))
    assert again == _in_process(extractor, batches[1:])


def test_a_dead_worker_costs_speed_not_events(extractor, models, caplog):
    batches = _batches()
    w = ParseWorker(models, batch_size=64)
    try:
        os.kill(w.proc.pid, signal.SIGKILL)
        w.proc.join(timeout=10)
        with caplog.at_level(logging.WARNING, logger="pipeline.nlp"):
            streamed = list(extractor.extract_stream(batches, w))
        assert streamed == _in_process(extractor, batches)
        assert w.broken
        assert [r for r in caplog.records if "parse worker failed" in r.getMessage()]
    finally:
        w.close()


def test_batches_larger_than_a_pipe_buffer_pass_both_ways(extractor, worker):
    """Long pages: each request and each answer is larger than the pipe's buffer (an answer of
    several hundred kilobytes), so the two sides must never both be sending."""
    text = "\n".join(a.text for b in _batches() for a in b) * 6
    batches = [
        [
            Article(k * 4 + j, f"http://example.test/long{k}-{j}", "", "example.test", "2026-05-14", text)
            for j in range(4)
        ]
        for k in range(2)
    ]
    texts = [c.sentence.text for a in batches[0] for c in extractor.candidates(a)]
    assert sum(len(t) for t in texts) > 150_000
    assert list(extractor.extract_stream(batches, worker)) == _in_process(extractor, batches)
