"""The extractor's shortcuts give the answers of the slower code they stand for."""

from __future__ import annotations

import random

from shared.iocs.extract import _AFTER_MARKER, _Scan, is_global_ipv4
from shared.iocs.normalize import is_global_ip


def test_is_global_ipv4_at_the_edges_of_every_16_block() -> None:
    rng = random.Random(4)
    for first in range(256):
        for second in range(256):
            for third, fourth in ((0, 0), (255, 255), (rng.randrange(256), rng.randrange(256))):
                address = f"{first}.{second}.{third}.{fourth}"
                assert is_global_ipv4(address) == is_global_ip(address), address


def _after_marker_labels(text: str) -> set[str]:
    return {label.lower() for label in _AFTER_MARKER.findall(text)}


def test_labels_after_markers_match_the_combined_pattern() -> None:
    rng = random.Random(9)
    pieces = [
        "]",
        ")",
        "}",
        " ",
        "\t",
        "\n",
        "dot",
        "DOT",
        "Dot",
        "d",
        "ot",
        "a",
        "-",
        "1",
        "[",
        "x" * 70,
        "foodot",
        "é",
    ]
    texts = [
        "] foodot bar",
        "]xdot dot foo",
        "dot dot foo",
        ") " + "a" * 64 + "dot x",
        "(dot) evil (dot) com",
    ]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 40))) for _ in range(20000)]
    for text in texts:
        assert _Scan(text, text, {}).labels_after_markers() == _after_marker_labels(text), text
