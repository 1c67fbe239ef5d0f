"""The error hierarchy: every failure has a stable snake_case ``code`` and an HTTP status."""

from __future__ import annotations


class SocbuddyError(Exception):
    """Base of every expected failure; the API edge turns it into ``{"error", "detail"}``."""

    code = "internal_error"
    http_status = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ConfigError(SocbuddyError):
    """A configuration variable holds a value the service cannot use."""

    code = "config_error"


class InvalidRequest(SocbuddyError):
    code = "invalid_request"
    http_status = 400


class InvalidIocType(SocbuddyError):
    code = "invalid_ioc_type"
    http_status = 400


class NoPluginsAvailable(SocbuddyError):
    code = "no_plugins_available"
    http_status = 400


class InvalidApiKey(SocbuddyError):
    code = "invalid_api_key"
    http_status = 401


class RevokedApiKey(SocbuddyError):
    code = "revoked_api_key"
    http_status = 401
    account: str | None = None
    key_prefix: str | None = None


class NotFound(SocbuddyError):
    code = "not_found"
    http_status = 404


class PayloadTooLarge(SocbuddyError):
    code = "payload_too_large"
    http_status = 413


class RateLimited(SocbuddyError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class Unavailable(SocbuddyError):
    code = "unavailable"
    http_status = 503
