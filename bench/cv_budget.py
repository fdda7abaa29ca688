"""How steady the cross-validated figures are, and where the errors arise: nested grouped 5-fold
cross-validation of the event decisions on ``../shared/train`` over several fold assignments (mean and
spread, overall and per event family), and the error budget of one of them: what a perfect event head
would reach over the same candidate events (the loss before the head: candidates, grouping, parties,
status) against what the trained head reaches.

    python bench/cv_budget.py                       # fold seeds 7 11 23 31
    python bench/cv_budget.py --seeds 1 2 3 4 5 6

Compare two versions of the rules or features by the means here, not by one seed's figures: one fold
assignment against another moves core F1 by about 0.01 to 0.03. A change to the rules, roles or
grouping is told apart best by the perfect head's figures (per family too): they do not move with the
event head's refit and thresholds, which shift every family's figures when one rule changes. Last line:
``core_f1 mean=X sd=Y status mean=Z ceiling_core_r=R trained_core_r=S``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ROOT.parent / "shared" / "train" / "articles.jsonl"
FAMILIES = {
    "sanctions": ("sanctions_listing", "sanctions_removal"),
    "tariffs": ("tariff_announcement",),
    "factories": ("factory_opening",),
}
SHOWN = ("core_p", "core_r", "core_f1", "event_f1", "status_acc", "conf80_p")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(TRAIN), help="labelled articles (JSON lines)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 23, 31], help="fold seeds")
    args = ap.parse_args()
    if not Path(args.data).exists():
        raise SystemExit(f"{args.data}: not found (the labelled articles of ../shared/train)")
    sys.path.insert(0, str(ROOT))
    from pipeline.config import NlpSettings
    from pipeline.events import Extractor
    from pipeline.training import cv, data
    from pipeline.training.fit import Params

    t0 = time.perf_counter()
    recs = data.load([args.data])
    extractor = Extractor(NlpSettings(), decisions=None)
    readings = extractor.read_many([data.article(r) for r in recs])
    print(f"{len(recs)} articles, {sum(len(r) for r in readings)} readings ({time.perf_counter() - t0:.0f}s)")
    runs: dict[str, list[float]] = {}
    first = None
    for seed in args.seeds:
        params = Params(seed=seed)
        score, events, choices, _ = cv.nested(extractor, recs, readings, params)
        first = first or (params, score, choices)
        row = {k: score.figures[k] for k in SHOWN}
        for fam, types in FAMILIES.items():
            f = cv.by_type(recs, events, types)
            row[f"{fam} core_f1"], row[f"{fam} status"] = f["core_f1"], f["status_acc"]
        for k, v in row.items():
            runs.setdefault(k, []).append(v)
        print(f"seed {seed}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()), flush=True)
    print(f"\n{'figure':<20} {'mean':>6} {'sd':>6} {'min':>6} {'max':>6}")
    for k, vs in runs.items():
        sd = statistics.stdev(vs) if len(vs) > 1 else 0.0
        print(f"{k:<20} {statistics.mean(vs):6.3f} {sd:6.3f} {min(vs):6.3f} {max(vs):6.3f}")
    params, score, choices = first
    add = statistics.median(c.add_threshold for c in choices)
    top, kept = cv.ceiling(extractor, recs, readings, params, add)
    print(f"\nerror budget (seed {params.seed}, candidates at add_reading {add}):")
    print(f"{'':<28} {'core P':>7} {'core R':>7} {'status':>7}")
    print(f"{'perfect event head':<28} {top['core_p']:7.3f} {top['core_r']:7.3f} {top['status_acc']:7.3f}")
    for fam, types in FAMILIES.items():
        f = cv.by_type(recs, kept, types)
        print(f"{'  ' + fam:<28} {f['core_p']:7.3f} {f['core_r']:7.3f} {f['status_acc']:7.3f}")
    f = score.figures
    print(f"{'trained event head':<28} {f['core_p']:7.3f} {f['core_r']:7.3f} {f['status_acc']:7.3f}")
    sd = statistics.stdev(runs["core_f1"]) if len(runs["core_f1"]) > 1 else 0.0
    print(
        f"core_f1 mean={statistics.mean(runs['core_f1']):.3f} sd={sd:.3f}"
        f" status mean={statistics.mean(runs['status_acc']):.3f}"
        f" ceiling_core_r={top['core_r']:.3f} trained_core_r={f['core_r']:.3f}"
    )


if __name__ == "__main__":
    main()
