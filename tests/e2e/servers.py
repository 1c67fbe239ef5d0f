"""Throwaway servers a fault-injection test may break: redis-server, an initdb PostgreSQL cluster,
and a fake provider server that can also drop connections.

The shared PostgreSQL and Redis of TEST_DATABASE_URL / TEST_REDIS_URL are never stopped: a test that
restarts a service starts its own on a free loopback port in a temp dir and stops it by its PID.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg2
import pytest
import redis

from tests.e2e.stack import free_port
from tests.fakes.providers import FakeProviders, make_handler

CLOSE = "close"  # a fake provider mode: read the request, then close the connection without answering


def require_services() -> None:
    """Skip unless the integration environment is configured (a laptop with only Python skips)."""
    missing = [name for name in ("TEST_DATABASE_URL", "TEST_REDIS_URL") if not os.environ.get(name)]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not set (fault-injection tests need PostgreSQL and Redis)")


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """Create a database on TEST_DATABASE_URL's server for a whole module; drop it afterwards.

    (The conftest's ``pg_url`` does the same per test; a module-scoped stack needs its own.)
    """
    require_services()
    base = os.environ["TEST_DATABASE_URL"]
    try:
        admin = psycopg2.connect(base, connect_timeout=5)
    except psycopg2.OperationalError as ex:
        pytest.fail(f"TEST_DATABASE_URL is set but PostgreSQL is unreachable: {ex}".strip())
    admin.autocommit = True
    name = f"socbuddy_faults_{uuid.uuid4().hex[:12]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urllib.parse.urlsplit(base)._replace(path=f"/{name}").geturl()
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _wait_gone(pid: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} did not exit within {timeout_s} s")


class RedisServer:
    """A redis-server without persistence on a free loopback port; stop() and start() keep the port."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not on PATH (needed to restart Redis under the service)")
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.directory / f"redis-{self.starts}.log"
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory), "--logfile", str(log)],
            start_new_session=True,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    client.close()
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError(f"redis-server did not start on port {self.port}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server by its PID (no persistence: every key, queue and delayed message is lost)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, sig)
            self.process.wait(timeout=20)
        self.process = None


class PostgresCluster:
    """A PostgreSQL cluster of its own (initdb) on a free loopback port, with trust authentication.

    As root, the binaries run as the ``postgres`` user on a data dir it owns. ``stop`` sends the
    postmaster (its PID from postmaster.pid) a fast shutdown: every session is cut at once.
    """

    def __init__(self) -> None:
        self.bindir = _postgres_bindir()
        self.directory = Path(tempfile.mkdtemp(prefix="socbuddy-pg-"))
        self.as_root = os.geteuid() == 0
        if self.as_root:
            account = pwd.getpwnam("postgres")
            os.chown(self.directory, account.pw_uid, account.pw_gid)
        self.data = self.directory / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/socbuddy"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")

    def _command(self, program: str, *args: str) -> list[str]:
        command = [str(self.bindir / program), *args]
        return ["runuser", "-u", "postgres", "--", *command] if self.as_root else command

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(self._command(program, *args), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{program} failed: {done.stderr[-2000:]}"

    def start(self) -> None:
        self.starts += 1
        log = open(self.directory / f"postgres-{self.starts}.log", "wb")
        options = ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=100"]
        self.process = subprocess.Popen(
            self._command("postgres", "-D", str(self.data), "-p", str(self.port),
                          "-k", str(self.directory), *options),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres").close()
                return
            except psycopg2.OperationalError:
                assert self.process.poll() is None, self.log_tail()
                time.sleep(0.1)
        raise AssertionError("PostgreSQL did not start: " + self.log_tail())

    def create_database(self, name: str = "socbuddy") -> None:
        admin = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        admin.close()

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self, sig: int = signal.SIGINT) -> None:
        """Stop the postmaster by its PID (SIGINT: fast shutdown, SIGQUIT: immediate) and wait."""
        if self.process is None:
            return
        pid = self.postmaster_pid()
        os.kill(pid, sig)
        _wait_gone(pid, 30)
        self.process.wait(timeout=30)
        self.process = None

    def log_tail(self) -> str:
        logs = sorted(self.directory.glob("postgres-*.log"))
        return logs[-1].read_text(errors="replace")[-2000:] if logs else ""

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def _postgres_bindir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    found = shutil.which("initdb")
    path = Path(candidates[-1]) if candidates else Path(found) if found else None
    if path is None or not (path.resolve().parent / "postgres").exists():
        pytest.fail("initdb/postgres not found (under /usr/lib/postgresql/*/bin or on PATH)")
    return path.resolve().parent


def _version_key(path: str) -> tuple[int, ...]:
    part = Path(path).parts[-3]
    return tuple(int(p) for p in part.split(".") if p.isdigit())


class FaultyProviders:
    """Serve ``fake`` on loopback like tests.fakes.providers.serve, plus the ``close`` mode.

    ``fake.mode[provider] = CLOSE``: the server reads the request, then closes the connection
    without a response (the client sees the peer go away). ``closed`` counts those per provider.
    """

    def __init__(self, fake: FakeProviders) -> None:
        self.fake = fake
        self.closed: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(fake, self._drop_if_closing))
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        for gate in list(self.fake.gates.values()):
            gate.set()  # release held requests so their threads end
        self.server.shutdown()
        self.server.server_close()

    def _drop_if_closing(self, handler: BaseHTTPRequestHandler, provider: str) -> bool:
        """Close the connection without an answer when the provider is in ``close`` mode."""
        if self.fake.mode.get(provider) != CLOSE:
            return False
        with self._lock:
            self.closed[provider] += 1
        handler.close_connection = True
        handler.connection.shutdown(socket.SHUT_RDWR)
        return True
