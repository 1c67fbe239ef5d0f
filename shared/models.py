"""Database models. One model set serves PostgreSQL (JSONB) and SQLite (JSON text)."""

from __future__ import annotations

import datetime as dt
import uuid

from peewee import (
    AutoField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    JSONField,
    Model,
    TextField,
    UUIDField,
)

database = DatabaseProxy()


def utcnow() -> dt.datetime:
    """Return the current UTC time as a naive datetime (how every timestamp is stored)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class ServiceAccount(BaseModel):
    id = AutoField()
    name = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    # The account's request budget (e.g. "60/minute", "none"); NULL: SOCBUDDY_RATE_LIMIT applies.
    rate_limit = CharField(max_length=64, null=True)


class ApiKey(BaseModel):
    id = AutoField()
    account = ForeignKeyField(ServiceAccount, backref="keys", on_delete="CASCADE")
    key_hash = CharField(max_length=64, unique=True)
    prefix = CharField(max_length=8, index=True)
    created_at = DateTimeField(default=utcnow)
    revoked_at = DateTimeField(null=True)
    last_used_at = DateTimeField(null=True)


class AuditEvent(BaseModel):
    """One row per authenticated-endpoint request; append-only (the service never updates it)."""

    id = AutoField()

    time = DateTimeField(default=utcnow, index=True)
    account = CharField(max_length=64, null=True, index=True)
    key_prefix = CharField(max_length=8, null=True)
    method = CharField(max_length=16)
    route = CharField(max_length=128)
    params = JSONField(default=dict)
    status = IntegerField()
    duration_ms = IntegerField()
    client = CharField(max_length=64, null=True)
    ioc = TextField(null=True)
    ioc_type = CharField(max_length=16, null=True)
    analysis_id = UUIDField(null=True)


class Analysis(BaseModel):
    id = UUIDField(primary_key=True, default=uuid.uuid4)
    ioc = TextField()
    ioc_type = CharField(max_length=16)
    queried_at = DateTimeField(default=utcnow, index=True)
    plugins = JSONField(default=list)
    account = CharField(max_length=64, null=True)


class PluginResult(BaseModel):
    """The state of one plugin in one analysis; written only by upsert/compare-and-set."""

    id = AutoField()

    analysis = ForeignKeyField(Analysis, backref="plugin_results", on_delete="CASCADE")
    plugin = CharField(max_length=64)
    mode = CharField(max_length=8)  # fast | slow
    status = CharField(max_length=8, default="pending")  # pending | ok | error
    result = JSONField(null=True)
    job_id = CharField(max_length=256, null=True)
    reported_pending = BooleanField(default=False)
    attempts = IntegerField(default=0)
    chain = CharField(max_length=32, null=True)
    started_at = DateTimeField(null=True)
    next_check_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("analysis", "plugin"), True),
            (("status", "next_check_at"), False),
        )

    @property
    def analysis_key(self) -> str:
        """Return the analysis id as text without loading the analysis."""
        return str(self.__data__["analysis"])


class ResultCache(BaseModel):
    """The newest successful answer of a plugin for a normalised IOC, reused within its TTL."""

    id = AutoField()
    plugin = CharField(max_length=64)
    ioc_type = CharField(max_length=16)
    ioc_hash = CharField(max_length=64)  # SHA-256 of the IOC: URLs can outgrow an index entry
    ioc = TextField()
    result = JSONField()
    stored_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("plugin", "ioc_type", "ioc_hash"), True),)


class WatchList(BaseModel):
    """An organisation's own indicator list, with the verdict a hit on it means."""

    id = AutoField()
    name = CharField(max_length=128, unique=True)
    verdict = CharField(max_length=16, default="malicious")
    created_at = DateTimeField(default=utcnow)


class WatchEntry(BaseModel):
    """One normalised indicator on a watch list."""

    id = AutoField()
    watch_list = ForeignKeyField(WatchList, backref="entries", on_delete="CASCADE")
    ioc_type = CharField(max_length=16)
    ioc_hash = CharField(max_length=64)  # SHA-256 of the normalised value (URLs outgrow index entries)
    ioc = TextField()
    note = TextField(null=True)
    added_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("watch_list", "ioc_type", "ioc_hash"), True),
            (("ioc_type", "ioc_hash"), False),
        )


MODELS: tuple[type[BaseModel], ...] = (
    ServiceAccount,
    ApiKey,
    AuditEvent,
    Analysis,
    PluginResult,
    ResultCache,
    WatchList,
    WatchEntry,
)
