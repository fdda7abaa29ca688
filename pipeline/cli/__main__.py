import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from . import main

main()
