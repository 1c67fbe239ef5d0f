"""Benchmark SOCBuddy's extraction and refang against the peer libraries on the labelled corpus.

Usage: ``.venv/bin/python bench/extract.py [--peers-venv /tmp/peers-venv] [--repeats 3] [--min-seconds 2]``.

The peers (iocsearcher, ioc-finder, iocextract, msticpy, ioc-fanger) are never project
dependencies: they live in a throwaway venv that this script creates and fills from the package
index when it is missing. Each peer runs in a subprocess of that venv (bench/peers/run_peer.py),
timed in-process there, with HTTP(S) proxies pointed at a closed loopback port so that no peer
reaches the network. SOCBuddy runs in this process. All run on one core, one document at a time.

Scoring is generous to the peers: every value they report is refanged and normalised with
SOCBuddy's own ``normalize`` (so ``evil[.]com`` counts as ``evil.com``), and the hosts of the URLs
and the domains of the e-mails they report are added under ``domain``/``ip``, as the ground truth
has them. A value that does not normalise counts as a false positive. Precision, recall and F1 are
micro-averaged over (document, value) pairs per type; "all" pools every type.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import venv
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.iocs.extract import extract  # noqa: E402
from shared.iocs.fang import refang  # noqa: E402
from shared.iocs.normalize import InvalidIoc, normalize, url_host  # noqa: E402

CORPUS = ROOT / "tests" / "corpus" / "corpus.json"
REFANG_CASES = ROOT / "tests" / "corpus" / "refang_cases.json"
RUNNER = ROOT / "bench" / "peers" / "run_peer.py"
PEER_PACKAGES = ["iocsearcher", "ioc-finder", "iocextract", "msticpy", "ioc-fanger"]
EXTRACTORS = ["ioc-finder", "iocsearcher", "iocextract", "msticpy"]
TYPES = ["ip", "domain", "url", "hash", "email", "cve"]
NO_NETWORK = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}


def ensure_peers(venv_dir: Path) -> Path:
    """Create the throwaway venv with the peer libraries unless it is there; return its python."""
    python = venv_dir / "bin" / "python"
    if not python.exists():
        print(f"creating {venv_dir} and installing {', '.join(PEER_PACKAGES)} ...", file=sys.stderr)
        venv.create(venv_dir, with_pip=True)
    missing = [p for p in PEER_PACKAGES if subprocess.run([python, "-m", "pip", "show", "-q", p]).returncode]
    for package in missing:  # one at a time, so one that cannot be installed does not stop the rest
        subprocess.run([python, "-m", "pip", "install", "-q", package], check=False)
    return python


def run_peer(python: Path, peer: str, corpus_file: Path, repeats: int, min_seconds: float) -> dict[str, Any]:
    """Run one peer in the peers' venv and return its parsed output (or an error)."""
    env = os.environ | NO_NETWORK
    try:
        done = subprocess.run(
            [python, RUNNER, peer, corpus_file, str(repeats), str(min_seconds)],
            capture_output=True,
            text=True,
            timeout=1800,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return {"error": "timed out"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:120]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def canonical(found: dict[str, list[str]]) -> dict[str, set[str]]:
    """Normalise a tool's findings and add URL hosts and e-mail domains, as the truth has them."""
    result: dict[str, set[str]] = {kind: set() for kind in TYPES}
    for kind, values in found.items():
        for value in values:
            result[kind].add(_normal(kind, value))
            host = _host_of(kind, result[kind], value)
            if host:
                result["ip" if _is_ip(host) else "domain"].add(host)
    return result


def _normal(kind: str, value: str) -> str:
    if kind == "cve":
        return value.upper()
    try:
        return normalize(value, kind)
    except InvalidIoc:
        return f"<invalid {value}>"


def _host_of(kind: str, _: set[str], value: str) -> str | None:
    normal = _normal(kind, value)
    if normal.startswith("<invalid"):
        return None
    if kind == "url":
        return url_host(normal)
    if kind == "email":
        return normal.rpartition("@")[2]
    return None


def _is_ip(host: str) -> bool:
    try:
        normalize(host, "ip")
    except InvalidIoc:
        return False
    return True


def score(docs: list[dict[str, Any]], results: dict[str, dict[str, list[str]]]) -> dict[str, tuple]:
    """Return {type: (precision, recall, f1)} plus "all", micro-averaged over documents."""
    tp, fp, fn = Counter(), Counter(), Counter()
    for doc in docs:
        got = canonical(results.get(doc["id"], {}))
        for kind in TYPES:
            expected = set(doc["truth"].get(kind, []))
            tp[kind] += len(got[kind] & expected)
            fp[kind] += len(got[kind] - expected)
            fn[kind] += len(expected - got[kind])
    table = {kind: _prf(tp[kind], fp[kind], fn[kind]) for kind in TYPES}
    table["all"] = _prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    return table


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def run_socbuddy(docs: list[dict[str, Any]], repeats: int, min_seconds: float) -> dict[str, Any]:
    """Run SOCBuddy in this process, timed like the peers (see ``timed_passes``)."""
    extract("warm up 1.2.3.4 evil.com")
    results: dict[str, Any] = {}

    def one_pass() -> None:
        _clear_caches()  # each pass starts cold, so repeats do not flatter SOCBuddy
        for doc in docs:
            results[doc["id"]] = extract(doc["text"])

    passes = timed_passes(one_pass, repeats, min_seconds)
    size = sum(len(doc["text"].encode()) for doc in docs)
    return {"docs": results, "pass_seconds": passes, "bytes": size, "version": "this checkout"}


def timed_passes(one_pass: Any, repeats: int, min_seconds: float) -> list[float]:
    """Time passes over the input: at least ``repeats``, and more until ``min_seconds`` are spent.

    Every tool is timed this way (bench/peers/run_peer.py does the same) and rated by its median
    pass: one pass of SOCBuddy over the corpus takes about 20 ms, so three passes were a 60 ms
    window in which one stall of the machine moved the figure by a fifth.
    """
    passes: list[float] = []
    while len(passes) < repeats or sum(passes) < min_seconds:
        started = time.perf_counter()
        one_pass()
        passes.append(time.perf_counter() - started)
    return passes


def mb_per_s(run: dict[str, Any]) -> float:
    """Return a run's throughput: bytes of one pass over its median pass time."""
    return float(run["bytes"] / statistics.median(run["pass_seconds"]) / 1e6)


def _clear_caches() -> None:
    from shared.iocs import extract as module

    module.clear_caches()


def render(rows: dict[str, dict[str, Any]], docs: list[dict[str, Any]], refang_rows: dict[str, str]) -> str:
    """Return the Markdown tables: F1 (P/R) per type and MB/s; refang accuracy."""
    size = sum(len(doc["text"].encode()) for doc in docs)
    lines = [
        f"Corpus: {len(docs)} documents, {size / 1000:.1f} kB. Cells: F1 (precision/recall); '-' = type not supported.",
        "",
        "| tool | " + " | ".join(TYPES) + " | all | MB/s |",
        "|---" * (len(TYPES) + 3) + "|",
    ]
    for name, run in rows.items():
        if "error" in run:
            lines.append(
                f"| {name} | " + " | ".join(["n/a"] * (len(TYPES) + 1)) + f" | n/a ({run['error']}) |"
            )
            continue
        table = score(docs, run["docs"])
        supported = {kind for found in run["docs"].values() for kind in found} | {"ip", "domain"}
        cells = [_cell(table[kind]) if kind in supported else "-" for kind in TYPES]
        mbps = mb_per_s(run)
        lines.append(
            f"| {name} {run.get('version', '')} | "
            + " | ".join(cells)
            + f" | {_cell(table['all'])} | {mbps:.2f} |"
        )
    lines += ["", "| refang tool | cases right |", "|---|---|"]
    lines += [f"| {name} | {result} |" for name, result in refang_rows.items()]
    return "\n".join(lines)


def _cell(prf: tuple[float, float, float]) -> str:
    precision, recall, f1 = prf
    return f"**{f1:.3f}** ({precision:.2f}/{recall:.2f})"


def refang_score(outputs: list[str] | None, cases: list[dict[str, str]]) -> str:
    """Return "right/total" for a refanger's outputs."""
    if outputs is None:
        return "n/a"
    right = sum(out == case["expected"] for out, case in zip(outputs, cases, strict=True))
    return f"{right}/{len(cases)} ({100 * right / len(cases):.0f} %)"


def main() -> None:
    """Run every tool on the corpus and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers-venv", type=Path, default=Path("/tmp/peers-venv"))
    parser.add_argument("--repeats", type=int, default=3, help="passes at least (each tool)")
    parser.add_argument(
        "--min-seconds", type=float, default=2.0, help="and more passes until this much time is spent"
    )
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument(
        "--prose", type=Path, nargs="*", default=[], help="also time SOCBuddy on these text files"
    )
    args = parser.parse_args()
    docs = json.loads(CORPUS.read_text(encoding="utf-8"))
    cases = json.loads(REFANG_CASES.read_text(encoding="utf-8"))
    bundle = Path("/tmp/socbuddy-bench-corpus.json")
    bundle.write_text(json.dumps({"docs": docs, "refang_inputs": [c["input"] for c in cases]}))
    rows = {"SOCBuddy": run_socbuddy(docs, args.repeats, args.min_seconds)}
    refang_rows = {"SOCBuddy": refang_score([refang(c["input"]) for c in cases], cases)}
    if not args.no_peers:
        python = ensure_peers(args.peers_venv)
        for peer in EXTRACTORS:
            rows[peer] = run_peer(python, peer, bundle, args.repeats, args.min_seconds)
            if "refang" in rows[peer] and rows[peer]["refang"] is not None:
                refang_rows[peer] = refang_score(rows[peer]["refang"], cases)
        fanger = run_peer(python, "ioc-fanger", bundle, args.repeats, args.min_seconds)
        refang_rows["ioc-fanger"] = (
            refang_score(fanger.get("refang"), cases) if "error" not in fanger else "n/a"
        )
    print(render(rows, docs, refang_rows))
    print(f"\nSOCBuddy on the corpus: {spread(rows['SOCBuddy'])}")
    if args.prose:
        prose = "\n\n".join(path.read_text(encoding="utf-8", errors="replace") for path in args.prose)
        run = run_socbuddy([{"id": "prose", "text": prose}], args.repeats, args.min_seconds)
        print(f"Prose: {run['bytes'] / 1e6:.2f} MB, SOCBuddy {mb_per_s(run):.2f} MB/s; {spread(run)}")


def spread(run: dict[str, Any]) -> str:
    """Say how many passes a run's MB/s rests on and how far they ranged."""
    rates = sorted(run["bytes"] / seconds / 1e6 for seconds in run["pass_seconds"])
    return f"{len(rates)} passes, median {mb_per_s(run):.2f} MB/s (slowest {rates[0]:.2f}, fastest {rates[-1]:.2f})"


if __name__ == "__main__":
    main()
