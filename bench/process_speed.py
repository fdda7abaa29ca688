"""The text-to-log speed of ``run.py process`` as a user runs it, against a plain full-spaCy pass over
the same texts, timed in interleaved rounds on this machine.

    python bench/process_speed.py                 # 1,200 Reuters wires, three rounds
    python bench/process_speed.py --wires 600 --rounds 5

Each round runs both as separate commands on the same file: the baseline (``spacy.load`` of the
product's spaCy model as it comes, ``nlp.pipe`` over every whole text) and ``run.py process`` into a
fresh log (no alerts), as it comes (its parse worker on) and with ``TRADEWIRE_NLP__PARSE_WORKER=false``
(everything in one process). Start-up is excluded on both sides: the baseline times its pipe only, and
``process`` loads its models (and starts its parse worker) before its clock starts and prints the
seconds of the work. Last line: ``ratio median=X min=Y max=Z one_process_median=W`` (ours articles/s
over the baseline's).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIRES = ROOT.parent / "shared" / "corpus" / "news" / "reuters21578"

BASELINE = """
import json, sys, time
import spacy
texts = [json.loads(x)["text"] for x in open(sys.argv[1], encoding="utf-8")]
nlp = spacy.load(sys.argv[2])
list(nlp.pipe(texts[:20]))
t = time.perf_counter()
for _ in nlp.pipe(texts, batch_size=32):
    pass
print(len(texts) / (time.perf_counter() - t))
"""


def wires(n: int) -> list[dict]:
    """The 517 trade wires, then other wires with a body, up to ``n`` in all."""
    trade = [json.loads(x) for x in (WIRES / "trade.jsonl").read_text().splitlines()]
    out = trade[:n]
    with gzip.open(WIRES / "articles.jsonl.gz", "rt") as f:
        for line in f:
            if len(out) >= n:
                break
            a = json.loads(line)
            if a.get("text_type") == "NORM" and a.get("text") and "trade" not in (a.get("topics") or []):
                out.append(a)
    return out


def ours(path: Path, tmp: Path, k: str, parse_worker: bool = True) -> float:
    cfg = tmp / f"r{k}.toml"
    cfg.write_text(f'[storage]\ndb = "{tmp / f"r{k}.db"}"\n')
    env = dict(os.environ)
    if not parse_worker:
        env["TRADEWIRE_NLP__PARSE_WORKER"] = "false"
    r = subprocess.run(
        [sys.executable, str(ROOT / "run.py"), "process", str(path), "--no-alerts", "--config", str(cfg)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        env=env,
    )
    m = re.search(r"\(([\d.]+) articles/s, model loading excluded\)", r.stderr)
    if not m:
        raise SystemExit(f"process printed no timing:\n{r.stderr[-2000:]}")
    return float(m[1])


def baseline(path: Path, model: str) -> float:
    r = subprocess.run(
        [sys.executable, "-c", BASELINE, str(path), model], capture_output=True, text=True, check=True
    )
    return float(r.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wires", type=int, default=1200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from pipeline.config import NlpSettings

    with tempfile.TemporaryDirectory(prefix="tradewire-speed-") as d:
        tmp = Path(d)
        path = tmp / "wires.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for w in wires(args.wires):
                f.write(
                    json.dumps(
                        {
                            "url": f"reuters:{w['id']}",
                            "title": w.get("title") or "",
                            "published": w.get("date"),
                            "text": w["text"],
                        }
                    )
                    + "\n"
                )
        ratios, alone = [], []
        for k in range(args.rounds):
            base = baseline(path, NlpSettings().spacy_model)
            mine = ours(path, tmp, str(k))
            one = ours(path, tmp, f"{k}-one", parse_worker=False)
            ratios.append(mine / base)
            alone.append(one / base)
            print(
                f"round {k + 1}: baseline {base:.1f} articles/s, run.py process {mine:.1f} articles/s,"
                f" ratio {mine / base:.2f}x (without the parse worker {one:.1f} articles/s, {one / base:.2f}x)"
            )
        print(
            f"ratio median={statistics.median(ratios):.2f} min={min(ratios):.2f} max={max(ratios):.2f}"
            f" one_process_median={statistics.median(alone):.2f}"
        )


if __name__ == "__main__":
    main()
