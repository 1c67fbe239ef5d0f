"""The load benchmark's fake providers, in a process of their own so they do not share the clients' GIL.

Serves tests/fakes/providers.py (VirusTotal, AbuseIPDB, Joe Sandbox) on a free loopback port,
prints the base URL on one line, and serves until its standard input closes (the benchmark exits
or dies) or ``--max-seconds`` pass, whichever comes first.
"""

from __future__ import annotations

import argparse
import collections
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/ is not installed

from tests.fakes.providers import FakeProviders, serve  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    parser.add_argument("--joe-polls-before-finish", type=int, default=1)
    args = parser.parse_args()
    fake = FakeProviders(joe_polls_before_finish=args.joe_polls_before_finish)
    fake.requests = collections.deque(maxlen=1000)  # type: ignore[assignment]  # bounded memory
    server, base = serve(fake)
    print(base, flush=True)
    closed = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.read()  # returns at EOF: the parent closed the pipe or died
        closed.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    closed.wait(args.max_seconds)
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
