"""tradewire: feeds -> fetch -> extract -> events -> dedup -> store -> alerts."""

import os

__version__ = "0.1.0"

# numpy's OpenBLAS threads spin after each small product (the parser's), starving the embedder and
# everything else on a 2-core machine: one thread is faster here (bench/throughput.py). Set before
# numpy loads; an operator's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
