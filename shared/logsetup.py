"""Configure process logging once: level from SOCBUDDY_LOG_LEVEL, httpx kept quiet, keys redacted.

Defence in depth for provider keys: every handler on the root logger gets a formatter that replaces
each configured key in the final formatted text (message, exception traceback, stack) with
``[redacted]``. Records from any logger that propagates to the root (ours, dramatiq, waitress,
httpx) pass through it. The keys are the values of every plugin's ``key_var`` set when
``configure_logging`` runs, and the passwords in DATABASE_URL and REDIS_URL, plus their
percent-encoded forms (as in a URL path or query string).
Values shorter than ``MIN_SECRET_CHARS`` are ignored: they would match ordinary text too often.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus, unquote, urlsplit

LOG_FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"
REDACTED = "[redacted]"
MIN_SECRET_CHARS = 8
_HEX_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def configure_logging() -> None:
    """Log to stderr with timestamps; httpx and httpcore at WARNING (they log full URLs); keys redacted.

    ``basicConfig`` does nothing when the root logger already has handlers (a dramatiq worker
    process installs its own first); the redaction is installed on whatever handlers the root has.
    """
    level = os.environ.get("SOCBUDDY_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(level=level, format=LOG_FORMAT)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    install_redaction(logging.getLogger().handlers, configured_secrets())


def configured_secrets(environ: Mapping[str, str] | None = None) -> list[str]:
    """Return every secret the configuration holds: provider keys and the passwords in service URLs."""
    return provider_secrets(environ) + url_passwords(environ)


def url_passwords(environ: Mapping[str, str] | None = None) -> list[str]:
    """Return the passwords in DATABASE_URL and REDIS_URL, as set in ``environ`` (default: the process's)."""
    env = os.environ if environ is None else environ
    passwords = []
    for name in ("DATABASE_URL", "REDIS_URL"):
        try:
            password = urlsplit(env.get(name, "").strip()).password
        except ValueError:  # a malformed URL: the service refuses it elsewhere, with its own message
            continue
        if password:
            passwords += [password, unquote(password)]
    return passwords


def provider_secrets(environ: Mapping[str, str] | None = None) -> list[str]:
    """Return the values of every plugin's key variable set in ``environ`` (default: the process's)."""
    from plugins.registry import PLUGINS  # here, not at import time: plugins import shared modules
    from shared.config import Settings

    settings = Settings.from_env(environ)
    names = {module.SPEC.key_var for module in PLUGINS if module.SPEC.key_var}
    return [value for name in sorted(names) if (value := settings.var(name))]


def secret_forms(secrets: Iterable[str]) -> list[str]:
    """Return each secret of at least MIN_SECRET_CHARS and its percent-encoded forms, longest first."""
    forms: set[str] = set()
    for secret in secrets:
        if len(secret) < MIN_SECRET_CHARS:
            continue
        for form in (secret, quote(secret), quote(secret, safe=""), quote_plus(secret)):
            forms.add(form)
            forms.add(_HEX_ESCAPE.sub(lambda m: m.group().lower(), form))  # %2f as well as %2F
    return sorted(forms, key=lambda form: (-len(form), form))


class RedactingFormatter(logging.Formatter):
    """Format with an inner formatter, then replace every secret in the result with ``[redacted]``."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.inner = inner
        self.set_secrets(secrets)

    def set_secrets(self, secrets: Iterable[str]) -> None:
        forms = secret_forms(secrets)
        self._pattern = re.compile("|".join(map(re.escape, forms))) if forms else None

    def redact(self, text: str) -> str:
        return text if self._pattern is None else self._pattern.sub(REDACTED, text)

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record)
        if self._pattern is None:
            return text
        # The inner formatter caches the traceback and message on the record; redact them too, so
        # a handler that formats the same record after this one reuses the redacted text.
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if isinstance(getattr(record, "message", None), str):
            record.message = self.redact(record.message)
        return self.redact(text)


def install_redaction(handlers: Iterable[logging.Handler], secrets: Iterable[str]) -> None:
    """Wrap each handler's formatter in a RedactingFormatter for ``secrets`` (again: new secrets)."""
    secrets = list(secrets)
    for handler in handlers:
        current = handler.formatter
        if isinstance(current, RedactingFormatter):
            current.set_secrets(secrets)
        else:
            handler.setFormatter(RedactingFormatter(current or logging.Formatter(), secrets))
