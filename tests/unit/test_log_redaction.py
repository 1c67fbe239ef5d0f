"""Provider keys never reach a log line: message, traceback or percent-encoded, from any logger."""

from __future__ import annotations

import io
import logging
import re
import sys
from urllib.parse import quote, quote_plus

import pytest

from plugins import registry
from shared import logsetup


def _key_var(plugin: str) -> str:
    name = registry.spec(plugin).key_var
    assert name, f"{plugin} has no key variable"
    return name


VT_KEY_VAR = _key_var("virustotal")  # VIRUSTOTAL_API_KEY
SHODAN_KEY_VAR = _key_var("shodan")
# Characters that percent-encoding changes (/, +, space, =, &), so the encoded forms differ.
KEY = "vt/Secret+key with=&chars0123456789"


@pytest.fixture(autouse=True)
def no_provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in registry.PLUGINS:
        if module.SPEC.key_var:
            monkeypatch.delenv(module.SPEC.key_var, raising=False)


@pytest.fixture
def stream() -> io.StringIO:
    return io.StringIO()


def _redacting_handler(stream: io.StringIO, fmt: str = logsetup.LOG_FORMAT) -> logging.Handler:
    """A handler writing to ``stream``, with the redaction configure_logging installs for this env."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(fmt))
    logsetup.install_redaction([handler], logsetup.provider_secrets())
    return handler


def _fail_with(text: str) -> None:
    raise RuntimeError(f"provider said: {text}")


def test_a_key_in_a_message_is_redacted(monkeypatch: pytest.MonkeyPatch, stream: io.StringIO) -> None:
    monkeypatch.setenv(VT_KEY_VAR, f"  {KEY}\n")  # read as Settings reads it: stripped
    handler = _redacting_handler(stream)
    record = logging.makeLogRecord({"msg": "calling with key %s", "args": (KEY,), "levelno": logging.INFO})
    handler.handle(record)
    out = stream.getvalue()
    assert KEY not in out
    assert f"calling with key {logsetup.REDACTED}" in out


def test_a_key_in_a_traceback_and_percent_encoded_is_redacted(
    monkeypatch: pytest.MonkeyPatch, stream: io.StringIO
) -> None:
    monkeypatch.setenv(VT_KEY_VAR, KEY)
    handler = _redacting_handler(stream)
    log = logging.getLogger("socbuddy.test.redaction.traceback")
    log.addHandler(handler)
    log.propagate = False
    lower_hex = re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(KEY, safe=""))  # %2f
    encoded = [quote(KEY), quote(KEY, safe=""), quote_plus(KEY), lower_hex]
    assert all(form != KEY for form in encoded)
    try:
        for text in (KEY, *encoded, f"https://vt.test/api?apikey={quote_plus(KEY)}&x=1"):
            try:
                _fail_with(text)
            except RuntimeError:
                log.exception("plugin %s failed with %s", "virustotal", "RuntimeError")
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert out.count("Traceback (most recent call last)") == 6
    assert out.count(f"RuntimeError: provider said: {logsetup.REDACTED}\n") == 5
    assert f"apikey={logsetup.REDACTED}&x=1" in out
    for form in (KEY, *encoded):
        assert form not in out
    assert "Secret" not in out


def test_a_handler_after_the_redacting_one_reuses_the_redacted_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(VT_KEY_VAR, KEY)
    first, second = io.StringIO(), io.StringIO()
    redacting = _redacting_handler(first)
    plain = logging.StreamHandler(second)  # no redaction of its own
    log = logging.getLogger("socbuddy.test.redaction.second")
    log.addHandler(redacting)
    log.addHandler(plain)
    log.propagate = False
    try:
        try:
            _fail_with(KEY)
        except RuntimeError:
            log.exception("failed")
    finally:
        log.removeHandler(redacting)
        log.removeHandler(plain)
    assert KEY not in first.getvalue() and KEY not in second.getvalue()
    assert logsetup.REDACTED in second.getvalue()


def test_short_values_are_left_alone(monkeypatch: pytest.MonkeyPatch, stream: io.StringIO) -> None:
    short = "k" * (logsetup.MIN_SECRET_CHARS - 1)
    monkeypatch.setenv(SHODAN_KEY_VAR, short)
    monkeypatch.setenv(VT_KEY_VAR, KEY)
    handler = _redacting_handler(stream, "%(message)s")
    handler.handle(logging.makeLogRecord({"msg": f"short {short} long {KEY}"}))
    assert stream.getvalue() == f"short {short} long {logsetup.REDACTED}\n"


def test_without_keys_messages_pass_unchanged(stream: io.StringIO) -> None:
    assert logsetup.provider_secrets() == []
    handler = _redacting_handler(stream, "%(levelname)s %(message)s")
    assert isinstance(handler.formatter, logsetup.RedactingFormatter)
    text = f"{VT_KEY_VAR} is not set; {KEY}"
    try:
        _fail_with(text)
    except RuntimeError:
        record = logging.makeLogRecord({"msg": text, "levelname": "ERROR"})
        record.exc_info = sys.exc_info()
    handler.handle(record)
    out = stream.getvalue()
    assert out.startswith(f"ERROR {text}\nTraceback (most recent call last)")
    assert out.rstrip().endswith(f"RuntimeError: provider said: {text}")


def test_configure_logging_redacts_on_existing_root_handlers(
    monkeypatch: pytest.MonkeyPatch, stream: io.StringIO
) -> None:
    # The root already has a handler (as in a dramatiq worker): basicConfig is a no-op, the
    # redaction is installed anyway, and records from other libraries' loggers go through it.
    monkeypatch.setenv(VT_KEY_VAR, KEY)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [handler])
    monkeypatch.setattr(root, "level", logging.INFO)
    logsetup.configure_logging()
    assert root.handlers == [handler]
    logging.getLogger("dramatiq.worker").error("url was https://x.test/%s", quote(KEY, safe=""))
    logging.getLogger("waitress").warning("key %s", KEY)
    out = stream.getvalue()
    assert out.splitlines() == [
        f"dramatiq.worker: url was https://x.test/{logsetup.REDACTED}",
        f"waitress: key {logsetup.REDACTED}",
    ]
    logsetup.configure_logging()  # twice: still one layer of redaction
    formatter = handler.formatter
    assert isinstance(formatter, logsetup.RedactingFormatter)
    assert not isinstance(formatter.inner, logsetup.RedactingFormatter)


def test_the_passwords_in_the_service_urls_are_redacted(stream: io.StringIO) -> None:
    environ = {
        "DATABASE_URL": "postgresql://app:pg%2Fsecret-123@db.internal:5432/socbuddy",
        "REDIS_URL": "redis://:redis-secret-456@cache:6379/0",
        "REDIS_URL_UNUSED": "redis://:not-a-service-url@x/0",
    }
    assert set(logsetup.url_passwords(environ)) == {"pg%2Fsecret-123", "pg/secret-123", "redis-secret-456"}
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(logsetup.LOG_FORMAT))
    logsetup.install_redaction([handler], logsetup.configured_secrets(environ))
    for text in (environ["DATABASE_URL"], "password pg/secret-123 rejected", environ["REDIS_URL"]):
        handler.handle(logging.makeLogRecord({"msg": text, "levelno": logging.ERROR}))
    out = stream.getvalue()
    assert "secret-123" not in out and "redis-secret-456" not in out
    assert f"postgresql://app:{logsetup.REDACTED}@db.internal:5432/socbuddy" in out
    assert (
        logsetup.url_passwords({"DATABASE_URL": "sqlite:////srv/x.sqlite3", "REDIS_URL": "redis://h:6379/0"})
        == []
    )
