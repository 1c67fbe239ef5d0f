"""Configure process logging once: level from SOCBUDDY_LOG_LEVEL, httpx kept quiet."""

from __future__ import annotations

import logging
import os


def configure_logging() -> None:
    """Log to stderr with timestamps; httpx and httpcore at WARNING (they log full URLs)."""
    level = os.environ.get("SOCBUDDY_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s")
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
