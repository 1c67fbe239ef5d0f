"""Dramatiq entry module for benchmark workers: register the synthetic plugins, then the usual entry."""

from __future__ import annotations

import fanout_plugins

fanout_plugins.register()

from workers.entry import BROKER  # noqa: E402

__all__ = ["BROKER"]
