"""Screenshot of the Datasette events page in headless Chromium (where the machine has Chromium).

    python bench/screenshot.py [--config config/demo.toml] [--out bench/out/events.png]

Builds the demo log first when it is missing, serves it with `run.py serve`, and writes a PNG.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", default=str(ROOT / "config" / "demo.toml"))
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "events.png"))
    ap.add_argument("--path", default="/demo/event_list")
    args = ap.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not chromium:
        sys.exit("no Chromium on this machine (apt-get install chromium)")
    if not (ROOT / "data" / "demo.db").exists():
        subprocess.run([sys.executable, str(ROOT / "run.py"), "demo"], check=True, cwd=ROOT)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "serve", "--config", args.config, "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/-/versions.json", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run(
                [
                    chromium,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    f"--user-data-dir={profile}",
                    "--window-size=1400,1000",
                    f"--screenshot={args.out}",
                    f"http://127.0.0.1:{port}{args.path}",
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
        print(args.out)
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
