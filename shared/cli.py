"""The ``socbuddy`` command: run the service, manage keys, read the audit log, use the text tools."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import peewee

if TYPE_CHECKING:
    from workers.quota import Rate, RedisLimiter

from shared import accounts, audit
from shared import db as dbmod
from shared.config import Settings, without_password
from shared.errors import ConfigError, SocbuddyError
from shared.logsetup import configure_logging

DEV_DATA_DIR = "var"
WAITRESS_HARD_CAP_BYTES = 64 * 1024 * 1024


class CliError(Exception):
    """A command cannot run; the message says why and what to do."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``socbuddy`` command and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        handler: Callable[[argparse.Namespace], int] = args.handler
        status = handler(args)
        sys.stdout.flush()  # here, so that a reader gone away is a BrokenPipeError caught below
        return status
    except (CliError, ConfigError) as ex:
        print(f"socbuddy: {ex}", file=sys.stderr)
        return 2
    except SocbuddyError as ex:
        print(f"socbuddy: {ex.detail}", file=sys.stderr)
        return 1
    except (peewee.DatabaseError, peewee.InterfaceError) as ex:
        reason = (str(ex).strip().splitlines() or [type(ex).__name__])[0]
        print(
            f"socbuddy: the database failed ({reason}); check DATABASE_URL, and that `socbuddy migrate` ran",
            file=sys.stderr,
        )
        return 1
    except BrokenPipeError:
        # The reader went away (``socbuddy audit | head``): stop quietly, as a shell tool does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="socbuddy", description="SOCBuddy IOC investigation service")
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="API and workers in one process, with embedded defaults")
    dev.add_argument("--host", default="127.0.0.1", help="default: %(default)s")
    dev.add_argument("--port", type=int, default=None, help="default: PORT or 5000")
    dev.add_argument("--threads", type=int, default=32, help="API threads (default: %(default)s)")
    dev.add_argument(
        "--worker-threads", type=int, default=32, help="in-process worker threads (default: %(default)s)"
    )
    dev.set_defaults(handler=cmd_dev)

    web = sub.add_parser("web", help="the API alone under waitress (needs REDIS_URL)")
    web.add_argument("--host", default="0.0.0.0", help="default: %(default)s")
    web.add_argument("--port", type=int, default=None, help="default: PORT or 5000")
    web.add_argument("--threads", type=int, default=32, help="request threads (default: %(default)s)")
    web.set_defaults(handler=cmd_web)

    worker = sub.add_parser(
        "worker", help="Dramatiq workers on the fast and sandbox queues (needs REDIS_URL)"
    )
    worker.add_argument("--processes", type=int, default=1, help="worker processes (default: %(default)s)")
    worker.add_argument(
        "--threads",
        type=int,
        default=16,
        help="threads per process for fast lookups (default: %(default)s); sandbox polls have "
        "SOCBUDDY_SANDBOX_THREADS of their own",
    )
    worker.add_argument(
        "--queues", nargs="+", choices=("fast", "sandbox"), default=None, help="default: both"
    )
    worker.set_defaults(handler=cmd_worker)

    sub.add_parser("migrate", help="create or upgrade the schema (idempotent)").set_defaults(
        handler=cmd_migrate
    )

    keys = sub.add_parser("keys", help="service accounts and API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="create a key (and the account if needed)")
    create.add_argument("name")
    create.add_argument(
        "--rate", default=None, help="the account's request budget, e.g. 60/minute (none: unlimited)"
    )
    create.set_defaults(handler=cmd_keys_create)
    keys_sub.add_parser("list", help="list keys (never the keys themselves)").set_defaults(
        handler=cmd_keys_list
    )
    revoke = keys_sub.add_parser("revoke", help="revoke an account's active keys, or one by prefix")
    revoke.add_argument("name")
    revoke.add_argument("--key", dest="prefix", default=None, help="the key's 8-character display prefix")
    revoke.set_defaults(handler=cmd_keys_revoke)

    audit_cmd = sub.add_parser("audit", help="the audit log, newest first")
    audit_cmd.add_argument("--account", default=None)
    audit_cmd.add_argument("--since", default=None, help="ISO-8601 time, e.g. 2026-12-03T10:00:00Z")
    audit_cmd.add_argument(
        "--limit", type=_positive_int, default=50, help="rows to print (default: %(default)s)"
    )
    audit_cmd.add_argument("--json", action="store_true", help="one JSON object per line")
    audit_cmd.set_defaults(handler=cmd_audit)

    plugins_cmd = sub.add_parser(
        "plugins", help="every plugin: types, category, mode, variables, enabled or why not"
    )
    plugins_cmd.add_argument("--json", action="store_true", help="one JSON object per line")
    plugins_cmd.add_argument(
        "--check", action="store_true", help="probe each enabled provider (reachable? credentials valid?)"
    )
    plugins_cmd.set_defaults(handler=cmd_plugins)

    watch = sub.add_parser("watchlist", help="the organisation's own indicator lists")
    watch_sub = watch.add_subparsers(dest="watch_command", required=True)
    load = watch_sub.add_parser(
        "import", help="import a file: plain text, abuse.ch CSV, MISP JSON or STIX 2.1"
    )
    load.add_argument("file")
    load.add_argument("--name", required=True, help="the list to add to (created if needed)")
    load.add_argument(
        "--verdict", default="malicious", choices=("malicious", "suspicious", "harmless", "unknown")
    )
    load.add_argument("--format", default="auto", choices=("auto", "text", "csv", "misp", "stix"))
    load.add_argument("--replace", action="store_true", help="replace the list's entries instead of adding")
    load.set_defaults(handler=cmd_watchlist_import)
    watch_sub.add_parser("list", help="every list, its verdict and size").set_defaults(
        handler=cmd_watchlist_list
    )
    drop = watch_sub.add_parser("remove", help="delete a list and its entries")
    drop.add_argument("name")
    drop.set_defaults(handler=cmd_watchlist_remove)

    extract = sub.add_parser("extract", help="extract indicators from a file (or - for stdin) as JSON")
    extract.add_argument("file")
    extract.set_defaults(handler=cmd_extract)
    return parser


def _database(settings: Settings) -> None:
    if not settings.database_url:
        dev_url = dbmod.sqlite_url_for(DEV_DATA_DIR) if Path(DEV_DATA_DIR).is_dir() else None
        hint = f" (the socbuddy dev database here is DATABASE_URL={dev_url})" if dev_url else ""
        raise CliError(f"DATABASE_URL is not set{hint}")
    dbmod.bind(dbmod.open_database(settings.database_url, pool_size=2))


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    _database(settings)
    created = dbmod.migrate(dbmod.database_obj())
    print(f"schema created or upgraded: {', '.join(created)}" if created else "schema is up to date")
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    _database(Settings.from_env())
    if args.rate is not None:
        from workers import quota

        quota.parse_rates(args.rate)  # refuse an invalid budget before storing it
    with dbmod.database_obj().connection_context():
        key = accounts.create_key(args.name, args.rate)
    print(f"created a key for service account {args.name!r}; it is shown only once:")
    print(key)
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    _database(Settings.from_env())
    with dbmod.database_obj().connection_context():
        keys = accounts.list_keys()
    print(f"{'ACCOUNT':<24} {'PREFIX':<10} {'CREATED':<21} {'LAST USED':<21} STATE")
    for k in keys:
        state = f"revoked {_short(k.revoked_at)}" if k.revoked_at else "active"
        print(
            f"{k.account:<24} {k.prefix:<10} {_short(k.created_at):<21} {_short(k.last_used_at):<21} {state}"
        )
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    _database(Settings.from_env())
    with dbmod.database_obj().connection_context():
        count = accounts.revoke(args.name, args.prefix)
    print(f"revoked {count} key(s) of {args.name!r}")
    return 0 if count else 1


def cmd_audit(args: argparse.Namespace) -> int:
    _database(Settings.from_env())
    since = _parse_time(args.since) if args.since else None
    with dbmod.database_obj().connection_context():
        rows = audit.query(account=args.account, since=since, limit=args.limit)
    for row in rows:
        if args.json:
            print(json.dumps(row))
        else:
            who = f"{row['account'] or '-'}/{row['key_prefix'] or '-'}"
            extra = f" {row['type']}={row['ioc']}" if row["ioc"] else ""
            print(
                f"{row['time']} {who:<32} {row['method']:<6} {row['route']} {row['status']} {row['duration_ms']}ms{extra}"
            )
    return 0


def cmd_watchlist_import(args: argparse.Namespace) -> int:
    from shared import watchlist

    _database(Settings.from_env())
    if not Path(args.file).is_file():
        raise CliError(f"no such file: {args.file}")
    with dbmod.database_obj().connection_context():
        report = watchlist.import_file(args.file, args.name, args.verdict, args.format, args.replace)
    print(
        f"{args.name}: read {report.read}, added {report.added}, already listed {report.already_listed}, "
        f"rejected {len(report.rejected)}"
    )
    for reason in report.rejected[:20]:
        print(f"  rejected {reason}")
    if len(report.rejected) > 20:
        print(f"  ... and {len(report.rejected) - 20} more")
    return 0


def cmd_watchlist_list(args: argparse.Namespace) -> int:
    from shared import watchlist

    _database(Settings.from_env())
    with dbmod.database_obj().connection_context():
        rows = watchlist.lists()
    print(f"{'NAME':<32} {'VERDICT':<11} {'ENTRIES':>8}  CREATED")
    for row in rows:
        print(f"{row['name']:<32} {row['verdict']:<11} {row['entries']:>8}  {_short(row['created_at'])}")
    return 0


def cmd_watchlist_remove(args: argparse.Namespace) -> int:
    from shared import watchlist

    _database(Settings.from_env())
    with dbmod.database_obj().connection_context():
        count = watchlist.remove(args.name)
    print(f"removed {args.name!r} and its {count} entries")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from plugins import registry
    from workers import quota

    settings = Settings.from_env()
    limiter = _shared_limiter(settings)
    rows = []
    for module in registry.PLUGINS:
        spec = module.SPEC
        state = registry.status(spec, settings)
        rates = quota.rates_for(spec, settings)
        rows.append(
            {
                "name": spec.name,
                "types": ",".join(t for t in ("ip", "domain", "url", "hash", "email") if t in spec.ioc_types),
                "category": ",".join(spec.categories),
                "mode": spec.mode,
                "key_variable": f"{spec.key_var} ({spec.key})" if spec.key_var else "-",
                "url_variable": spec.url_var or "-",
                "url": (registry.base_url(spec, settings) or "(not set)") if spec.remote else "- (local)",
                "quota": ", ".join(map(str, rates)) or "none",
                "left": _left(limiter, quota.bucket_of(spec), rates),
                "enabled": state.enabled,
                "status": "enabled" if state.enabled else f"disabled: {state.reason}",
            }
        )
    if args.check:
        return _print_checks(settings, args.json, limiter)
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    columns = ("name", "types", "category", "mode", "key_variable", "url", "quota", "left", "status")
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.upper().ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row[c]).ljust(widths[c]) for c in columns).rstrip())
    return 0


def _print_checks(settings: Settings, as_json: bool, limiter: RedisLimiter | None) -> int:
    from plugins import registry
    from workers import health
    from workers.runner import PluginRunner

    # The probes spend quota: with REDIS_URL set they count against the pool's shared buckets.
    runner = PluginRunner(settings, limiter=limiter)
    try:
        rows = health.check_all(runner, registry.enabled(settings))
    finally:
        runner.close()
    for row in rows:
        if as_json:
            print(json.dumps(row))
        else:
            mark = "ok " if row["healthy"] else "BAD"
            print(
                f"{mark} {row['plugin']:<26} {row['state']:<30} {row['duration_ms']:>6} ms  {row['detail']}"
            )
    return 0 if all(row["healthy"] for row in rows) else 1


def _shared_limiter(settings: Settings) -> RedisLimiter | None:
    from workers import quota

    if not settings.redis_url:
        return None
    import redis

    return quota.RedisLimiter(redis.Redis.from_url(settings.redis_url, socket_connect_timeout=3))


def _left(limiter: RedisLimiter | None, bucket: str, rates: tuple[Rate, ...]) -> str:
    """Return what is left of each window of a quota (known only with a shared Redis)."""
    if not rates:
        return "-"
    if limiter is None:
        return "? (no REDIS_URL)"
    try:
        return ", ".join(f"{max(0, r.count - limiter.used(bucket, r))}/{r.count}" for r in rates)
    except Exception:  # noqa: BLE001 - a listing must not fail because Redis is down
        return "? (Redis unreachable)"


def cmd_extract(args: argparse.Namespace) -> int:
    from shared.iocs.extract import extract

    try:
        text = (
            sys.stdin.read()
            if args.file == "-"
            else Path(args.file).read_text(encoding="utf-8", errors="replace")
        )
    except OSError as ex:
        raise CliError(f"cannot read {args.file}: {ex.strerror or type(ex).__name__}") from None
    print(json.dumps({"indicators": extract(text)}, indent=2))
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    configure_logging()
    settings = Settings.from_env()
    if not settings.redis_url:
        raise CliError(
            "REDIS_URL is not set: socbuddy web needs Redis (use socbuddy dev for a single process)"
        )
    from api.app import create_app
    from workers import actors, runtime

    rt = runtime.build(settings, threads=args.threads)
    app = create_app(rt, actors.declare(rt.broker, rt))
    _serve(app, args.host, args.port or settings.port, args.threads, settings)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if not settings.redis_url:
        raise CliError("REDIS_URL is not set: socbuddy worker needs Redis")
    if not settings.database_url:
        raise CliError("DATABASE_URL is not set: socbuddy worker needs the database")
    from workers.broker import THREAD_WAIT_MS

    env = dict(os.environ)
    # Worker threads wait long; pickup latency is the consumers' (SOCBUDDY_WORKER_TIMEOUT_MS).
    env["dramatiq_worker_timeout"] = str(THREAD_WAIT_MS)
    env["SOCBUDDY_WORKER_THREADS"] = str(args.threads)
    argv = [sys.executable, "-m", "dramatiq", "workers.entry:BROKER"]
    argv += ["--processes", str(args.processes), "--threads", str(args.threads)]
    argv += ["--worker-shutdown-timeout", "30000"]
    if args.queues:
        argv += ["--queues", *args.queues]
    os.execve(sys.executable, argv, env)  # noqa: S606 - the worker master replaces this process
    return 0  # pragma: no cover - execve does not return


def cmd_dev(args: argparse.Namespace) -> int:
    configure_logging()
    settings = Settings.from_env()
    if not settings.database_url:
        settings = replace(settings, database_url=dbmod.sqlite_url_for(DEV_DATA_DIR))
    from api.app import create_app
    from workers.broker import THREAD_WAIT_MS
    from workers.embedded import EmbeddedWorkers

    with EmbeddedWorkers(
        settings, worker_threads=args.worker_threads, thread_wait_ms=THREAD_WAIT_MS
    ) as workers:
        print(_dev_banner(settings, workers.first_key), flush=True)
        app = create_app(workers.runtime, workers.actors)
        _serve(app, args.host, args.port or settings.port, args.threads, settings)
    return 0


def _dev_banner(settings: Settings, key: str | None) -> str:
    lines = [
        "SOCBuddy dev: API and workers in one process",
        f"  database: {without_password(settings.database_url or '')}",
        f"  broker:   {'Redis at REDIS_URL' if settings.redis_url else 'in-process (no REDIS_URL)'}",
    ]
    if key:
        lines += ["  created service account 'dev'; its API key (shown once):", f"  {key}"]
    else:
        # The URL is spelled out only for the embedded default: one from the environment is already
        # there for the command, and may hold a password that does not belong in a terminal's log.
        command = "socbuddy keys create NAME"
        if not os.environ.get("DATABASE_URL"):
            command = f"DATABASE_URL={shlex.quote(settings.database_url or '')} {command}"
        lines += ["  API keys exist already; create another with:", f"  {command}"]
    return "\n".join(lines)


def _serve(app: Any, host: str, port: int, threads: int, settings: Settings) -> None:
    from api import server

    cap = max(WAITRESS_HARD_CAP_BYTES, settings.max_body_bytes * 4)
    server.serve(app, host=host, port=port, threads=threads, max_request_body_size=cap, ident="socbuddy")


def _short(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _parse_time(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"--since {text!r} is not an ISO-8601 time") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


if __name__ == "__main__":
    sys.exit(main())
