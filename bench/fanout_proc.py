"""Run a socbuddy process (dev or web) with the synthetic benchmark plugins registered."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import fanout_plugins

from shared import cli

if __name__ == "__main__":
    fanout_plugins.register()
    sys.exit(cli.main(sys.argv[1:]))
