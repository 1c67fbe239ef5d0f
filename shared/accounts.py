"""Service accounts and their API keys: created from a CSPRNG, stored only as SHA-256 hashes."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import string
from dataclasses import dataclass

from shared.db import first
from shared.errors import InvalidApiKey, InvalidRequest, NotFound, RevokedApiKey
from shared.models import ApiKey, ServiceAccount, database, utcnow

# Every authenticated request runs this: written out once (see shared.db.sql).
_FIND_KEY = (
    "SELECT k.*, s.name AS account_name, s.rate_limit AS account_rate_limit FROM api_key k"
    " JOIN service_account s ON s.id = k.account_id WHERE k.key_hash = ?"
)

KEY_PREFIX = "sb_"
KEY_BODY_CHARS = 32
_ALPHABET = string.ascii_letters + string.digits
_KEY_SHAPE = re.compile(r"sb_[A-Za-z0-9]{32}")
_NAME_SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account name and the display prefix of the key used."""

    account: str
    key_prefix: str
    rate_limit: str | None = None  # the account's own budget; None: the service-wide one


@dataclass(frozen=True)
class KeyInfo:
    """A key as ``keys list`` shows it (never the key itself)."""

    account: str
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


def generate_key() -> str:
    """Return a new key: ``sb_`` and 32 random alphanumeric characters from the OS CSPRNG."""
    return KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(KEY_BODY_CHARS))


def hash_key(key: str) -> str:
    """Return the SHA-256 hex digest stored in place of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """Return the 8 characters after ``sb_`` that identify a key in lists and the audit log."""
    return key[len(KEY_PREFIX) : len(KEY_PREFIX) + 8]


def create_key(account_name: str, rate_limit: str | None = None) -> str:
    """Create the account if needed, add a key to it and return the plain key (shown once).

    ``rate_limit`` (e.g. "60/minute", or "none") sets the account's own request budget.
    """
    if not _NAME_SHAPE.fullmatch(account_name):
        raise InvalidRequest(
            "an account name is 1-64 letters, digits, '_', '.' or '-', starting alphanumeric"
        )
    key = generate_key()
    with database.atomic():
        account, _ = ServiceAccount.get_or_create(name=account_name)
        if rate_limit is not None:
            account.rate_limit = rate_limit
            account.save()
        ApiKey.create(account=account, key_hash=hash_key(key), prefix=display_prefix(key))
    return key


def list_keys() -> list[KeyInfo]:
    """Return every key of every account, oldest first."""
    query = ApiKey.select(ApiKey, ServiceAccount).join(ServiceAccount).order_by(ApiKey.created_at, ApiKey.id)
    return [KeyInfo(k.account.name, k.prefix, k.created_at, k.revoked_at, k.last_used_at) for k in query]


def revoke(account_name: str, prefix: str | None = None) -> int:
    """Revoke the account's active keys (or the one with ``prefix``); return how many were revoked."""
    account = ServiceAccount.get_or_none(ServiceAccount.name == account_name)
    if account is None:
        raise NotFound(f"no service account named {account_name!r}")
    condition = (ApiKey.account == account) & ApiKey.revoked_at.is_null(True)
    if prefix is not None:
        condition &= ApiKey.prefix == prefix
    return int(ApiKey.update(revoked_at=utcnow()).where(condition).execute())


def has_active_key() -> bool:
    """Return True when at least one key is not revoked."""
    return ApiKey.select().where(ApiKey.revoked_at.is_null(True)).exists()


def authenticate(authorization: str | None) -> Principal:
    """Return the caller for an ``Authorization`` header; raise InvalidApiKey or RevokedApiKey."""
    if not authorization:
        raise InvalidApiKey("missing Authorization header (expected 'Bearer sb_...')")
    scheme, _, key = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise InvalidApiKey("the Authorization scheme must be Bearer")
    key = key.strip()
    if not _KEY_SHAPE.fullmatch(key):
        raise InvalidApiKey("malformed API key (expected sb_ followed by 32 letters and digits)")
    record = first(ApiKey, _FIND_KEY, hash_key(key))
    if record is None:
        raise InvalidApiKey("unknown API key")
    account, rate_limit = record.__dict__["account_name"], record.__dict__["account_rate_limit"]
    if record.revoked_at is not None:
        revoked = RevokedApiKey(f"the API key {record.prefix}... has been revoked")
        # Who still uses a retired key is worth auditing: the account and prefix, never the key.
        revoked.account, revoked.key_prefix = account, record.prefix
        raise revoked
    _touch(record)
    return Principal(account=account, key_prefix=record.prefix, rate_limit=rate_limit)


def _touch(record: ApiKey) -> None:
    # At most one write a minute per key, so authentication stays a read under load.
    now = utcnow()
    if record.last_used_at is None or now - record.last_used_at > _LAST_USED_RESOLUTION:
        ApiKey.update(last_used_at=now).where(
            (ApiKey.id == record.id)
            & (ApiKey.last_used_at.is_null(True) | (ApiKey.last_used_at < now - _LAST_USED_RESOLUTION))
        ).execute()
