"""Run one peer library over the corpus inside the peers' venv and print its raw findings as JSON.

Usage: run_peer.py PEER CORPUS_JSON [REPEATS [MIN_SECONDS]]. Prints {"version", "pass_seconds", "bytes"
(of one pass), "docs": {id: {type: [values]}}, "refang": [outputs]} or {"error": "..."}. Timing covers
the extraction calls only, in this process, on one core. Types use the peer's own spelling, mapped to
SOCBuddy's types here.
"""

from __future__ import annotations

import json
import sys
import time
from importlib import metadata
from typing import Any


def _ioc_finder() -> Any:
    from ioc_finder import find_iocs

    keys = {"urls": "url", "domains": "domain", "ipv4s": "ip", "ipv6s": "ip", "email_addresses": "email"}
    keys |= {"md5s": "hash", "sha1s": "hash", "sha256s": "hash", "sha512s": "hash", "cves": "cve"}

    def run(text: str) -> dict[str, list[str]]:
        found = find_iocs(text)
        return _merge((keys[k], v) for k, v in found.items() if k in keys)

    return run


def _iocextract() -> Any:
    import iocextract

    def run(text: str) -> dict[str, list[str]]:
        pairs = [
            ("url", iocextract.extract_urls(text, refang=True)),
            ("ip", iocextract.extract_ipv4s(text, refang=True)),
            ("ip", iocextract.extract_ipv6s(text)),
            ("email", iocextract.extract_emails(text, refang=True)),
            ("hash", iocextract.extract_hashes(text)),
        ]
        return _merge((kind, list(values)) for kind, values in pairs)

    return run


def _iocsearcher() -> Any:
    from iocsearcher.searcher import Searcher

    searcher = Searcher()
    keys = {"url": "url", "fqdn": "domain", "ip4": "ip", "ip6": "ip", "email": "email", "cve": "cve"}
    keys |= {"md5": "hash", "sha1": "hash", "sha256": "hash", "sha512": "hash"}

    def run(text: str) -> dict[str, list[str]]:
        found = searcher.search_data(text)
        return _merge((keys[i.name], [i.value]) for i in found if i.name in keys)

    return run


def _msticpy() -> Any:
    from msticpy.transform.iocextract import IoCExtract

    extractor = IoCExtract()
    keys = {"url": "url", "dns": "domain", "ipv4": "ip", "ipv6": "ip", "email": "email"}
    keys |= {"md5_hash": "hash", "sha1_hash": "hash", "sha256_hash": "hash"}

    def run(text: str) -> dict[str, list[str]]:
        found = extractor.extract(src=text)
        return _merge((keys[k], sorted(v)) for k, v in found.items() if k in keys)

    return run


PEERS = {
    "ioc-finder": _ioc_finder,
    "iocextract": _iocextract,
    "iocsearcher": _iocsearcher,
    "msticpy": _msticpy,
}
REFANGERS = {"ioc-fanger": ("ioc_fanger", "fang"), "iocextract": ("iocextract", "refang_data")}


def _merge(pairs: Any) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for kind, values in pairs:
        merged.setdefault(kind, []).extend(str(v) for v in values)
    return merged


def _refang(peer: str, cases: list[str]) -> list[str] | None:
    if peer not in REFANGERS:
        return None
    module_name, function = REFANGERS[peer]
    module = __import__(module_name)
    outputs = []
    for case in cases:
        try:
            outputs.append(str(getattr(module, function)(case)))
        except Exception as ex:
            outputs.append(f"<error {type(ex).__name__}>")
    return outputs


def main() -> None:
    """Run the peer named in argv[1] over the corpus in argv[2]."""
    peer, corpus_path = sys.argv[1], sys.argv[2]
    corpus = json.loads(open(corpus_path, encoding="utf-8").read())
    out: dict[str, Any] = {"version": metadata.version(peer)}
    if peer in PEERS:
        run = PEERS[peer]()
        run("warm up 1.2.3.4 evil.com")
        repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 1
        min_seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
        docs: dict[str, Any] = {}
        passes: list[float] = []
        # As bench/extract.py times SOCBuddy: at least ``repeats`` passes, more until min_seconds.
        while len(passes) < repeats or sum(passes) < min_seconds:
            started = time.perf_counter()
            for doc in corpus["docs"]:
                docs[doc["id"]] = run(doc["text"])
            passes.append(time.perf_counter() - started)
        out |= {"pass_seconds": passes, "docs": docs}
        out["bytes"] = sum(len(doc["text"].encode()) for doc in corpus["docs"])
    out["refang"] = _refang(peer, corpus["refang_inputs"])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
