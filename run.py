#!/usr/bin/env python3
"""tradewire entry point: ``python run.py COMMAND --config PATH`` (same as the ``tradewire`` script)."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pipeline.cli import main

if __name__ == "__main__":
    main()
