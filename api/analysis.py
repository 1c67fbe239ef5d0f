"""The analysis resources: submit (fan out and wait), read back, and poll a pending plugin."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import falcon
import redis

from api.body import read_json_object, string_field
from plugins import registry
from plugins.spec import PluginSpec
from shared import analyses, cache
from shared.errors import InvalidIocType, InvalidRequest, NoPluginsAvailable, NotFound, Unavailable
from shared.iocs.normalize import IOC_TYPES, InvalidIoc, Ioc, make_ioc
from shared.models import Analysis
from workers import actors as actorsmod
from workers import broker as brokermod
from workers.actors import Actors
from workers.runtime import Runtime

logger = logging.getLogger(__name__)


def parse_max_age(body: dict[str, Any]) -> float | None:
    """Return the optional ``max_age`` (seconds a cached answer may have; 0 forces fresh lookups)."""
    value = body.get("max_age")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 10**9:
        raise InvalidRequest("field 'max_age' must be a number of seconds, 0 or more")
    return float(value)


def parse_submission(body: dict[str, Any]) -> tuple[Ioc, list[str] | None]:
    """Validate an analysis request in the contract's order; return the normalised IOC and plugins."""
    ioc_text = string_field(body, "ioc")
    ioc_type = string_field(body, "type")
    requested = body.get("plugins")
    if "plugins" in body and (
        not isinstance(requested, list) or not all(isinstance(n, str) for n in requested)
    ):
        raise InvalidRequest("field 'plugins' must be a list of strings")
    if ioc_type not in IOC_TYPES:
        raise InvalidIocType(f"type must be one of {', '.join(IOC_TYPES)}; got {ioc_type[:32]!r}")
    try:
        ioc = make_ioc(ioc_text, ioc_type)
    except InvalidIoc as ex:
        raise InvalidRequest(f"invalid {ioc_type}: {ex}") from None
    return ioc, requested


class AnalysisCollection:
    """POST /api/v1/analysis."""

    def __init__(self, runtime: Runtime, actors: Actors) -> None:
        self.rt = runtime
        self.actors = actors

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        settings = self.rt.settings
        body = read_json_object(req, settings.max_body_bytes)
        ioc, requested = parse_submission(body)
        max_age_s = parse_max_age(body)
        req.context.audit.ioc, req.context.audit.ioc_type = ioc.value, ioc.type
        specs = registry.choose(settings, ioc, requested)
        if not specs:
            raise NoPluginsAvailable(registry.why_none(settings, ioc, requested))
        reused = cache.lookup_many(specs, settings, ioc.type, ioc.value, max_age_s)
        analysis = self.dispatch(ioc, specs, reused, req.context.principal.account)
        req.context.audit.analysis_id = str(analysis.id)
        sent = {s.name for s in specs} - reused.keys()
        outcomes: dict[str, dict[str, Any]] = {}
        if sent:
            # Give the pooled connection back while waiting: the wait can last SOCBUDDY_FAST_TIMEOUT.
            assert self.rt.db is not None
            self.rt.db.close()
            outcomes = self.rt.barrier.wait(str(analysis.id), sent, settings.fast_timeout_s)
            self.rt.db.connect(reuse_if_open=True)
        outcomes.update(
            {name: {"plugin": name, "kind": "result", "result": hit} for name, hit in reused.items()}
        )
        resp.media = self.answer(analysis, specs, outcomes)

    def dispatch(
        self, ioc: Ioc, specs: list[PluginSpec], reused: dict[str, dict[str, Any]], account: str
    ) -> Analysis:
        """Store the analysis with its rows, commit, then send one message per plugin not reused."""
        analysis_id = uuid.uuid4()
        messages = []
        planned = []
        for spec in specs:
            chain = analyses.new_chain()
            if spec.name in reused:
                planned.append(analyses.PlannedPlugin(spec.name, spec.mode, "", chain, reused[spec.name]))
                continue
            message = actorsmod.chain_message(
                self.actors.run_plugin, str(analysis_id), spec.name, chain, [ioc.type, ioc.value]
            )
            messages.append(message)
            planned.append(analyses.PlannedPlugin(spec.name, spec.mode, message.message_id, chain))
        analysis = analyses.create(analysis_id, ioc.value, ioc.type, planned, account)
        try:
            brokermod.enqueue_many(self.rt.broker, messages)
        except (redis.RedisError, OSError) as ex:
            logger.error("broker unreachable while dispatching %s: %s", analysis_id, type(ex).__name__)
            analyses.delete(analysis_id)
            raise Unavailable("broker unreachable; the analysis was not started") from None
        return analysis

    def answer(
        self, analysis: Analysis, specs: list[PluginSpec], outcomes: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        """Build the POST answer: barrier outcomes first, the stored rows for everything else."""
        unanswered = [s.name for s in specs if outcomes.get(s.name, {}).get("kind") != "result"]
        stored = analyses.rows_for(analysis.id, unanswered)
        results: dict[str, Any] = {}
        pending: dict[str, Any] = {}
        for spec in specs:
            outcome = outcomes.get(spec.name)
            row = stored.get(spec.name)
            if outcome and outcome["kind"] == "result":
                results[spec.name] = outcome["result"]
            elif row is not None and row.status in analyses.FINAL:
                results[spec.name] = row.result
            else:
                job_id = outcome["job_id"] if outcome else row.job_id if row else None
                pending[spec.name] = {"job_id": job_id, "poll_url": analyses.poll_url(analysis.id, spec.name)}
        analyses.mark_reported_pending(analysis.id, pending)
        return analyses.shape(analysis, results, pending)


def load_audited(req: falcon.Request, analysis_id: str) -> tuple[Analysis, list[Any]]:
    """Return a stored analysis and its rows, noted in the request's audit entry; 404 if unknown."""
    loaded = analyses.load(analysis_id)
    if loaded is None:
        raise NotFound(f"no analysis with id {analysis_id[:64]!r}")
    analysis, rows = loaded
    req.context.audit.analysis_id = str(analysis.id)
    req.context.audit.ioc, req.context.audit.ioc_type = analysis.ioc, analysis.ioc_type
    return analysis, rows


class AnalysisItem:
    """GET /api/v1/analysis/{id}."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: str) -> None:
        resp.media = analyses.view(*load_audited(req, id))


class PendingItem:
    """GET /api/v1/analysis/{id}/pending/{plugin}: 202 while running, 200 once stored."""

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: str, plugin: str) -> None:
        _, rows = load_audited(req, id)
        row = next((r for r in rows if r.plugin == plugin), None)
        if row is None or not row.reported_pending:
            raise NotFound(f"plugin {plugin[:64]!r} is not pending in this analysis")
        if row.status in analyses.FINAL:
            resp.media = {"status": "ready", "result": row.result}
        else:
            resp.status = 202
            resp.media = {"status": "pending"}
