"""Recorded Future Triage: URL detonation (submit, then poll) and hash search of existing samples.

API reference: the official hatching/triage clients (Go and Python): ``POST /samples``,
``GET /samples/{id}``, ``GET /samples/{id}/overview.json``, ``GET /search?query=<kind>:<hash>``,
errors as ``{"error": "<KIND>", "message": "..."}``; Bearer token auth.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from plugins.spec import Context, Finding, PluginError, PluginSpec, Submitted, Verdict, is_number
from shared.iocs.normalize import Ioc

SPEC = PluginSpec(
    name="triage",
    display_name="Recorded Future Triage",
    ioc_types=frozenset({"url", "hash"}),
    categories=("sandbox",),
    key_var="TRIAGE_API_KEY",
    key="required",
    auth="header",
    auth_name="Authorization",
    auth_prefix="Bearer ",
    url_var="TRIAGE_URL",
    default_url="https://tria.ge/api/v0",
    mode="slow",
    lookup_types=frozenset({"hash"}),
    poll_interval_s=15.0,
    poll_max_interval_s=30.0,
    poll_timeout_s=1200.0,
)

# Triage's 1-10 score: 1 nothing malicious, 2-5 likely benign, 6-7 suspicious, 8-9 likely malicious,
# 10 known bad. 0 or missing means no score.
SCORE_MALICIOUS = 8
SCORE_SUSPICIOUS = 6
SCORE_HARMLESS = 1
WEB_URL = "https://tria.ge"
TERMINAL_OK = "reported"
TERMINAL_FAILED = "failed"
MAX_ITEMS = 10
_LIMIT_WORDS = ("limit", "quota", "too many", "too_many")


def submit(ctx: Context, ioc: Ioc) -> Submitted | Finding:
    """Submit a URL for analysis (Triage picks the profiles), or search existing samples of a hash."""
    if ioc.type == "hash":
        return lookup_hash(ctx, ioc)
    body = {"kind": "url", "url": ioc.value, "interactive": False}
    sample = _object(call(ctx, "POST", "/samples", json=body), "/samples")
    if not sample.get("id"):
        raise PluginError("provider_error", "Triage accepted the submission but returned no sample id")
    return Submitted(job_id=str(sample["id"]))


def poll(ctx: Context, ioc: Ioc, job_id: str) -> Finding | None:
    """Return the overview of a reported sample, or None while Triage is still working on it."""
    sample = _object(call(ctx, "GET", f"/samples/{_segment(job_id)}"), "/samples/{id}")
    status = sample.get("status")
    if status == TERMINAL_FAILED:
        raise PluginError("provider_error", "Triage reports that the analysis failed")
    if status == TERMINAL_OK:
        return overview(ctx, job_id)
    if status == "static_analysis" and awaiting_profile(sample):
        choose_profile(ctx, job_id)
    return None


def lookup_hash(ctx: Context, ioc: Ioc) -> Finding:
    """Find the newest reported sample with this hash and summarise its overview."""
    result = call(ctx, "GET", "/search", params={"query": f"{ioc.hash_kind}:{ioc.value}"})
    found = _object(result, "/search").get("data")
    samples = [s for s in found if isinstance(s, dict)] if isinstance(found, list) else []
    reported = [s for s in samples if s.get("status") == TERMINAL_OK and s.get("id")]
    if not reported:
        summary = {
            "found": False,
            "samples": len(samples),
            "message": "Triage has no finished analysis of this hash",
        }
        return Finding(summary=summary, raw=result)
    newest = max(reported, key=lambda s: str(s.get("completed") or s.get("submitted") or ""))
    finding = overview(ctx, str(newest["id"]))
    return Finding(
        verdict=finding.verdict,
        summary={"found": True, **finding.summary},
        link=finding.link,
        raw=finding.raw,
    )


def overview(ctx: Context, sample_id: str) -> Finding:
    """Fetch a sample's overview report and keep what an analyst reads first."""
    data = _object(call(ctx, "GET", f"/samples/{_segment(sample_id)}/overview.json"), "overview")
    summary = _summary(data)
    link = f"{WEB_URL}/{_segment(sample_id)}"
    return Finding(verdict=verdict(summary["score"]), summary=summary, link=link, raw=data)


def awaiting_profile(sample: dict[str, Any]) -> bool:
    """Return True when static analysis is done and no behavioural task has been scheduled."""
    tasks = _tasks(sample.get("tasks"))
    return bool(tasks) and all(
        "static" in str(t.get("id") or t.get("name") or t.get("kind") or "")
        and t.get("status") == TERMINAL_OK
        for t in tasks
    )


def choose_profile(ctx: Context, sample_id: str) -> None:
    """Ask Triage to pick the analysis profiles itself; a refusal (already chosen) is not a failure."""
    try:
        call(ctx, "POST", f"/samples/{_segment(sample_id)}/profile", json={"auto": True})
    except PluginError as ex:
        if ex.code != "provider_error":
            raise


def call(ctx: Context, method: str, path: str, **kwargs: Any) -> Any:
    """Send one request and return its JSON body; a limit or quota answer in any 4xx is rate_limited."""
    reply = ctx.fetch_json(method, path, accept=range(400, 500), **kwargs)
    if reply.status < 400:
        return reply.data
    error = ctx.error_for(reply.status, reply.data, reply.headers)
    body = reply.data if isinstance(reply.data, dict) else {}
    words = f"{body.get('error')} {body.get('message')}".lower()
    if error.code == "provider_error" and any(w in words for w in _LIMIT_WORDS):
        raise PluginError("rate_limited", error.message)
    raise error


def verdict(score: Any) -> Verdict:
    """Map Triage's 1-10 score to a verdict (thresholds are the module constants)."""
    if not is_number(score) or score < SCORE_HARMLESS:
        return "unknown"
    if score >= SCORE_MALICIOUS:
        return "malicious"
    if score >= SCORE_SUSPICIOUS:
        return "suspicious"
    return "harmless"


def _summary(data: dict[str, Any]) -> dict[str, Any]:
    analysis = _field(data, "analysis")
    sample = _field(data, "sample")
    targets = _dicts(data.get("targets"))
    return {
        "score": _score(data, analysis, sample, targets),
        "family": _strings(analysis.get("family")),
        "tags": _strings(analysis.get("tags")),
        "id": sample.get("id"),
        "target": sample.get("target"),
        "sample_score": sample.get("score"),
        "completed": sample.get("completed"),
        "ips": _iocs(targets, "ips"),
        "domains": _iocs(targets, "domains"),
        "urls": _iocs(targets, "urls"),
        "signatures": _signatures(data, targets),
    }


def _score(
    data: dict[str, Any], analysis: dict[str, Any], sample: dict[str, Any], targets: list[dict[str, Any]]
) -> Any:
    """Return analysis.score, else sample.score, else the highest task or target score."""
    for value in (analysis.get("score"), sample.get("score")):
        if isinstance(value, int | float) and value > 0:
            return value
    scores = [t.get("score") for t in _tasks(data.get("tasks")) + targets]
    numbers = [s for s in scores if is_number(s)]
    return max(numbers) if numbers else analysis.get("score")


def _tasks(tasks: Any) -> list[dict[str, Any]]:
    """Return the tasks whether Triage sent them as a list or as an object keyed by task id."""
    if isinstance(tasks, dict):
        return [{"id": key, **value} for key, value in tasks.items() if isinstance(value, dict)]
    return _dicts(tasks)


def _iocs(targets: list[dict[str, Any]], kind: str) -> list[str]:
    values: list[str] = []
    for target in targets:
        for value in _strings(_field(target, "iocs").get(kind), limit=None):
            if value not in values:
                values.append(value)
    return values[:MAX_ITEMS]


def _signatures(data: dict[str, Any], targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return signatures from the top level or, as in the Go client's types, from each target."""
    found = _dicts(data.get("signatures")) or [s for t in targets for s in _dicts(t.get("signatures"))]
    named = [{"name": s.get("name"), "score": s.get("score")} for s in found if s.get("name")]
    unique = [s for i, s in enumerate(named) if s not in named[:i]]
    return sorted(unique, key=lambda s: -s["score"] if isinstance(s["score"], int | float) else 0)[:MAX_ITEMS]


def _object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise PluginError("provider_error", f"Triage's answer to {what} is not a JSON object")
    return data


def _field(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _strings(value: Any, limit: int | None = MAX_ITEMS) -> list[str]:
    items = [str(item) for item in value if item is not None] if isinstance(value, list) else []
    return items[:limit] if limit is not None else items


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")
