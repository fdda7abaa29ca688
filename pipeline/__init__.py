"""tradewire: feeds -> fetch -> extract -> events -> dedup -> store -> alerts."""

__version__ = "0.1.0"
