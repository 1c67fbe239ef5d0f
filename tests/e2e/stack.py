"""Start the Procfile processes (``socbuddy web`` and ``socbuddy worker``) as real subprocesses."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
SOCBUDDY = str(Path(sys.executable).with_name("socbuddy"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    """A web process and worker processes sharing one environment; all stopped by ``close``."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.logs = logs
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.web: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self._count = 0
        self._logs: list = []

    def run(self, *args: str) -> str:
        """Run a one-off socbuddy command and return its standard output."""
        done = subprocess.run(
            [SOCBUDDY, *args], env=self.env, capture_output=True, text=True, timeout=120, cwd=ROOT
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        self._count += 1
        log = open(self.logs / f"{name}-{self._count}.log", "wb")
        self._logs.append(log)
        return subprocess.Popen(
            [SOCBUDDY, *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )

    def start_web(self) -> None:
        self.web = self._spawn(
            "web", "web", "--host", "127.0.0.1", "--port", str(self.port), "--threads", "16"
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("socbuddy web did not start: " + self.log_tail("web"))

    def start_worker(self) -> subprocess.Popen[bytes]:
        worker = self._spawn("worker", "worker", "--processes", "1", "--threads", "4")
        self.workers.append(worker)
        return worker

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL a process group (a worker master and its children)."""
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)

    def worker_pids(self) -> dict[int, subprocess.Popen[bytes]]:
        """Map every PID of every live worker process tree to its master process."""
        pids = {}
        for master in self.workers:
            if master.poll() is None:
                for pid in _descendants(master.pid) | {master.pid}:
                    pids[pid] = master
        return pids

    def log_tail(self, prefix: str) -> str:
        texts = [p.read_text(errors="replace")[-3000:] for p in sorted(self.logs.glob(f"{prefix}-*.log"))]
        return "\n".join(texts)

    def close(self) -> None:
        for process in [*self.workers, *([self.web] if self.web else [])]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [*self.workers, *([self.web] if self.web else [])]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill(process)
        for log in self._logs:
            log.close()


def _descendants(pid: int) -> set[int]:
    children: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            child = int(entry.name)
            children |= {child} | _descendants(child)
    return children


def pid_with_local_port(port: int, candidates: set[int]) -> int | None:
    """Return which candidate process owns the TCP socket bound to local ``port`` (from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    for pid in candidates:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return pid
    return None
