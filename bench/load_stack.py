"""The load benchmark's service: the Procfile processes on a throwaway PostgreSQL database and Redis index.

``Stack.start()`` runs ``socbuddy migrate`` (release), ``socbuddy keys create``, imports a small
watch list, and starts ``socbuddy web`` plus ``socbuddy worker`` processes, with the real
virustotal, abuseipdb and joe_sandbox plugins pointed at the fake providers served by
load_fake.py on loopback. ``Stack.close()`` stops everything it started, by process group, drops
the database and flushes only its own Redis database index.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/ is not installed

from tests.fakes.providers import provider_env  # noqa: E402

SOCBUDDY = str(Path(sys.executable).with_name("socbuddy"))
REDIS_DB_INDEX = 15  # the load benchmark's own index (fanout.py uses 14, the tests 13)
PLUGINS = "virustotal,abuseipdb,joe_sandbox,watchlist"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    """A fake-provider process, a web process and worker processes; all stopped by ``close``."""

    def __init__(
        self,
        db_url: str,
        redis_url: str,
        *,
        workers: int,
        worker_threads: int,
        web_threads: int,
        pool_size: int,
        log_level: str,
        watch: list[str],
        logs: Path | None = None,
    ) -> None:
        self.admin_url = db_url
        self.db_name = f"socbuddy_load_{uuid.uuid4().hex[:8]}"
        self.db_url = urlsplit(db_url)._replace(path=f"/{self.db_name}").geturl()
        self.redis_url = urlsplit(redis_url)._replace(path=f"/{REDIS_DB_INDEX}").geturl()
        self.workers = workers
        self.worker_threads = worker_threads
        self.web_threads = web_threads
        self.pool_size = pool_size
        self.log_level = log_level
        self.watch = watch
        self._tmp = None if logs else tempfile.TemporaryDirectory(prefix="socbuddy-load-")
        self.logs = logs or Path(self._tmp.name)  # type: ignore[union-attr]
        self.logs.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.fake: subprocess.Popen[str] | None = None
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.env: dict[str, str] = {}
        self.key = ""
        self._db_created = False
        self._files: list = []

    # -- start -------------------------------------------------------------------------------------

    def start(self, max_seconds: float) -> None:
        self._start_fake(max_seconds)
        self._create_database()
        self._flush_redis()
        self.run("migrate")  # Procfile release
        self.key = self.run("keys", "create", "load-bench").strip().splitlines()[-1]
        watch_file = self.logs / "watchlist.txt"
        watch_file.write_text("\n".join(self.watch) + "\n")
        self.run("watchlist", "import", str(watch_file), "--name", "load-bench", "--verdict", "suspicious")
        self._spawn(
            "web", "web", "--host", "127.0.0.1", "--port", str(self.port), "--threads", str(self.web_threads)
        )
        for _ in range(self.workers):
            self._spawn("worker", "worker", "--processes", "1", "--threads", str(self.worker_threads))
        self._wait_ready()

    def _start_fake(self, max_seconds: float) -> None:
        self.fake = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "load_fake.py"), "--max-seconds", str(max_seconds)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(self.logs / "fake.log", "wb"),
            text=True,
            start_new_session=True,
        )
        assert self.fake.stdout is not None
        fake_url = self.fake.stdout.readline().strip()
        if not fake_url.startswith("http://127.0.0.1:"):
            raise SystemExit(f"the fake providers did not start: {fake_url!r}")
        self.env = {
            **os.environ,
            **provider_env(fake_url),
            "SOCBUDDY_PLUGINS": PLUGINS,
            "JOE_SANDBOX_RATE_LIMIT": "none",
            "SOCBUDDY_RATE_LIMIT": "none",  # per-key request budget: not what this measures
            "DATABASE_URL": self.db_url,
            "REDIS_URL": self.redis_url,
            "SOCBUDDY_DB_POOL_SIZE": str(self.pool_size),
            # Sandboxes poll every 1-2 s instead of Joe's 30-120 s, so they finish within a run.
            "SOCBUDDY_SANDBOX_POLL_INTERVAL": "1",
            "SOCBUDDY_SANDBOX_POLL_MAX_INTERVAL": "2",
            "SOCBUDDY_SANDBOX_TIMEOUT": "600",
            "SOCBUDDY_LOG_LEVEL": self.log_level,
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("PORT", None)

    def _create_database(self) -> None:
        import psycopg2

        admin = psycopg2.connect(self.admin_url)
        admin.autocommit = True
        admin.cursor().execute(f'CREATE DATABASE "{self.db_name}"')
        admin.close()
        self._db_created = True

    def _flush_redis(self) -> None:
        import redis

        redis.Redis.from_url(self.redis_url).flushdb()  # index 15 belongs to this benchmark

    def run(self, *args: str) -> str:
        """Run a one-off socbuddy command; return its standard output."""
        done = subprocess.run(
            [SOCBUDDY, *args], env=self.env, capture_output=True, text=True, timeout=120, cwd=ROOT
        )
        if done.returncode != 0:
            raise SystemExit(f"socbuddy {args[0]} failed:\n{done.stderr[-2000:]}")
        return done.stdout

    def _spawn(self, name: str, *args: str) -> None:
        log = open(self.logs / f"{name}-{len(self.procs)}.log", "wb")
        self._files.append(log)
        proc = subprocess.Popen(
            [SOCBUDDY, *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        self.procs.append((name, proc))

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    time.sleep(2)  # let the workers' consumers finish booting
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit("socbuddy web did not become ready:\n" + self.log_tail())

    # -- while running -----------------------------------------------------------------------------

    def check_alive(self) -> None:
        """Raise SystemExit if any service process has exited."""
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise SystemExit(
                    f"{name} (pid {proc.pid}) exited with {proc.returncode}:\n" + self.log_tail()
                )

    def dead(self) -> list[str]:
        return [
            f"{name} (pid {proc.pid}, exit {proc.returncode})"
            for name, proc in self.procs
            if proc.poll() is not None
        ]

    def cpu_snapshot(self) -> dict[str, dict[int, float]]:
        """Return the CPU seconds (user + system) used so far, per role and process.

        Roles: the machine as a whole (pid 0), this process (the clients), the web and worker
        process trees, the fake, and the PostgreSQL backends connected to this run's database.
        """
        tick = os.sysconf("SC_CLK_TCK")
        parents: dict[int, int] = {}
        times: dict[int, float] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parents[int(entry.name)] = int(fields[1])
                times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
        roots: dict[str, set[int]] = {}
        for name, proc in self.procs:
            roots.setdefault(name, set()).add(proc.pid)
        if self.fake is not None:
            roots["fake"] = {self.fake.pid}
        cpu = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        busy = sum(cpu) - cpu[3] - cpu[4]  # everything but idle and iowait
        out = {"machine": {0: busy / tick}, "clients": {os.getpid(): times.get(os.getpid(), 0.0)}}
        for role, tree in roots.items():
            while children := {pid for pid, parent in parents.items() if parent in tree} - tree:
                tree |= children
            out[role] = {pid: times.get(pid, 0.0) for pid in tree}
        out["postgres"] = {pid: times[pid] for pid in self._backends() if pid in times}
        return out

    def _backends(self) -> set[int]:
        import psycopg2

        try:
            admin = psycopg2.connect(self.admin_url)
        except psycopg2.Error:
            return set()
        try:
            cursor = admin.cursor()
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.db_name,))
            return {row[0] for row in cursor.fetchall()}
        finally:
            admin.close()

    @staticmethod
    def cpu_used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
        """Return the CPU seconds each role used between two snapshots (processes alive at the end)."""
        return {
            role: sum(used - before.get(role, {}).get(pid, 0.0) for pid, used in pids.items())
            for role, pids in after.items()
        }

    def log_tail(self, chars: int = 2000) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-chars:]}" for p in sorted(self.logs.glob("*.log"))
        )

    def log_problems(self) -> list[str]:
        """Return the ERROR/CRITICAL lines and traceback headers of the service logs."""
        lines = []
        for path in sorted(self.logs.glob("*.log")):
            if path.name == "fake.log":
                continue
            for line in path.read_text(errors="replace").splitlines():
                if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback"):
                    lines.append(f"{path.stem}: {line[:240]}")
        return lines

    # -- stop --------------------------------------------------------------------------------------

    def close(self) -> None:
        for _, proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for _, proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
        for log in self._files:
            log.close()
        if self.fake is not None:
            try:
                assert self.fake.stdin is not None
                self.fake.stdin.close()  # the fake exits at EOF
                self.fake.wait(timeout=10)
            except (subprocess.TimeoutExpired, OSError):
                self.fake.kill()
                self.fake.wait(timeout=10)
        if self._db_created:
            import psycopg2

            admin = psycopg2.connect(self.admin_url)
            admin.autocommit = True
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            admin.close()
            self._db_created = False
        try:
            self._flush_redis()
        except Exception as ex:  # cleanup must not hide the run's outcome
            print(f"warning: could not flush redis index {REDIS_DB_INDEX}: {ex}", file=sys.stderr)
        if self._tmp is not None:
            self._tmp.cleanup()
