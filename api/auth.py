"""Authenticate every request to a protected resource and audit it before the response leaves."""

from __future__ import annotations

import functools
import logging
import math
import time
from typing import Any

import falcon
import peewee
import redis

from api.errors import send_error
from api.server import REFUSED_ENV
from shared import accounts, audit
from shared.errors import ConfigError, RateLimited, RevokedApiKey, SocbuddyError, Unavailable
from workers import quota

logger = logging.getLogger(__name__)


class AuthAuditMiddleware:
    """Open a pooled DB connection, check the bearer key, and write one audit row per request.

    Resources opt out with a class attribute ``auth = False`` (health checks).
    """

    def __init__(
        self,
        database: peewee.Database | None,
        limiter: quota.Limiter | None = None,
        default_rate: str = "none",
    ) -> None:
        self.db = database
        self.limiter = limiter
        self.default_rate = default_rate

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.monotonic()
        req.context.audit = None

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, params: dict[str, Any]
    ) -> None:
        refused = req.env.get(REFUSED_ENV)
        if refused is not None:
            # Waitress has answered already: the responder never runs, the audit row gets its status.
            send_error(resp, *refused)
            resp.complete = True
        if resource is None or not getattr(resource, "auth", True):
            return
        req.context.audit = audit.Entry(
            method=req.method,
            route=req.uri_template or req.path,
            client=req.remote_addr,
            params={k: str(v) for k, v in params.items()},
        )
        if refused is not None:
            self._note_sender(req)
            return
        if self.db is None:
            raise Unavailable("this endpoint needs a database and DATABASE_URL is not set")
        self.db.connect(reuse_if_open=True)
        try:
            principal = accounts.authenticate(req.get_header("Authorization"))
        except RevokedApiKey as ex:
            req.context.audit.account, req.context.audit.key_prefix = ex.account, ex.key_prefix
            raise
        req.context.audit.account = principal.account
        req.context.audit.key_prefix = principal.key_prefix
        req.context.principal = principal
        self._check_budget(principal)

    def _note_sender(self, req: falcon.Request) -> None:
        """Note in the audit entry who sent a request waitress refused (no key needs to be valid)."""
        if self.db is None:
            return
        entry = req.context.audit
        try:
            self.db.connect(reuse_if_open=True)
            principal = accounts.authenticate(req.get_header("Authorization"))
            entry.account, entry.key_prefix = principal.account, principal.key_prefix
        except RevokedApiKey as ex:
            entry.account, entry.key_prefix = ex.account, ex.key_prefix
        except (SocbuddyError, peewee.PeeweeException):
            pass  # an invalid key is audited with no account; a database failure fails the audit too

    def _check_budget(self, principal: accounts.Principal) -> None:
        """Refuse a request over the account's budget (429 with Retry-After), shared by every web process."""
        rates = _rates(principal.rate_limit or self.default_rate)
        if not rates or self.limiter is None:
            return
        try:
            reserved, wait_s = self.limiter.reserve(f"account:{principal.account}", rates, 0.0)
        except (redis.RedisError, OSError) as ex:
            # Abuse protection fails open: a Redis hiccup must not lock every client out.
            logger.warning("rate limiter unavailable (%s); request allowed", type(ex).__name__)
            return
        if not reserved:
            budget = ", ".join(map(str, rates))
            raise RateLimited(
                f"service account {principal.account!r} is over its request budget ({budget})",
                retry_after_s=max(1, math.ceil(wait_s)),
            )

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: Any, req_succeeded: bool
    ) -> None:
        entry: audit.Entry | None = getattr(req.context, "audit", None)
        try:
            if entry is not None:
                self._audit(req, resp, entry)
        finally:
            if self.db is not None and not self.db.is_closed():
                self.db.close()

    def _audit(self, req: falcon.Request, resp: falcon.Response, entry: audit.Entry) -> None:
        duration_ms = int((time.monotonic() - req.context.started) * 1000)
        status = resp.status_code
        if self.db is None:
            logger.warning("unaudited (no database): %s", entry.as_row(status, duration_ms))
            return
        try:
            self.db.connect(reuse_if_open=True)
            audit.record(entry, status, duration_ms)
        except (peewee.PeeweeException, SocbuddyError, ValueError) as ex:
            # Nothing can be audited without the database: the client gets 503, the log keeps the event.
            logger.error(
                "audit write failed (%s); event: %s", type(ex).__name__, entry.as_row(status, duration_ms)
            )
            send_error(resp, 503, "unavailable", "the database is unreachable; try again shortly")


@functools.lru_cache(maxsize=256)
def _rates(text: str) -> tuple[quota.Rate, ...]:
    try:
        return quota.parse_rates(text)
    except ConfigError:
        logger.error("ignoring an invalid rate limit %r", text)
        return ()
