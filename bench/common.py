"""Shared bench helpers: a fresh PostgreSQL database, gunicorn on a free port, wrk.

Benches print figures; they are never run by CI. Every load goes to 127.0.0.1 only.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SERVED: dict[str, int] = {}  # base URL -> gunicorn master pid, while it serves


def fresh_database(name: str) -> str:
    """Drop and create database `name`; return its SQLAlchemy URL."""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(app_spec: str = "portal:create_app()", env: dict | None = None, workers: int = 2,
             threads: int = 1, worker_class: str = "sync", ready_path: str = "/healthz",
             log_path: str | None = None):
    """Serve `app_spec` with gunicorn on 127.0.0.1; yields the base URL. With `log_path`, the
    error and access logs (as deployed: info level, gunicorn.conf.py's format) go to that file."""
    port = free_port()
    logs = (["--log-level", "info", "--error-logfile", log_path, "--access-logfile", log_path]
            if log_path else ["--log-level", "warning"])
    cmd = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
           "--threads", str(threads), "--worker-class", worker_class, *logs,
           "--chdir", str(ROOT), app_spec]
    out = open(log_path, "ab") if log_path else None  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, cwd=ROOT, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    SERVED[url] = proc.pid
    try:
        deadline = time.time() + 60
        while True:
            try:
                if requests.get(url + ready_path, timeout=2).status_code < 500:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"gunicorn did not start: {cmd}")
            time.sleep(0.3)
        yield url
    finally:
        SERVED.pop(url, None)
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        if out is not None:
            out.close()


def wrk(url: str, seconds: int = 10, connections: int = 32, threads: int = 2,
        script: str | None = None, headers: dict | None = None) -> dict:
    """Run wrk against `url`; returns {"rps", "requests", "non_2xx", "errors", "latency_ms"}."""
    exe = shutil.which("wrk")
    if exe is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    cmd = [exe, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for key, value in (headers or {}).items():
        cmd += ["-H", f"{key}: {value}"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}

    def percentile(p: str) -> float | None:
        lat = re.search(p + r"%\s+([\d.]+)(us|ms|s)", out)
        return float(lat.group(1)) * scale[lat.group(2)] if lat else None

    return {"rps": rps, "requests": total, "non_2xx": non2xx, "errors": errors,
            "latency_p50_ms": percentile("50"), "latency_p99_ms": percentile("99")}


def worker_rss_mb(url: str) -> list[float]:
    """Resident memory (MB) of each worker of the gunicorn serving `url` (Linux /proc)."""
    master = SERVED[url]
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    out = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        out.append(int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024)
    return out
