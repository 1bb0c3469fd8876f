"""Fixtures of the fault drills: a PostgreSQL server of the test's own (``initdb``/``pg_ctl`` on a
temporary directory and a free port, never the machine's server), which a drill may stop and
start again, and the notify rig's recording provider (``tests.notify.rig``), which keeps every
request it gets."""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.notify.rig import RecordingProvider, free_port


def unavailable(reason: str):
    """Skip where the tools are missing; CI has them, so there it is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the drills)")
    pytest.skip(reason)


def _version(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path))


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl are: Debian's newest /usr/lib/postgresql/<version>/bin, else PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    initdb = found[-1] if found else shutil.which("initdb")
    if initdb and os.path.exists(os.path.join(os.path.dirname(initdb), "pg_ctl")):
        return Path(initdb).parent
    return None


class PrivatePostgres:
    """A PostgreSQL server in a temporary directory, on 127.0.0.1 and a free port. As root the
    server runs as the ``postgres`` user (``runuser``), on a directory that user owns."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="drill-pg-"))
        self.data = self.dir / "pg"
        self.log = self.dir / "server.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        done = subprocess.run([*self.as_user, str(self.bindir / tool), *args], capture_output=True,
                              text=True, timeout=timeout, cwd=self.dir)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} failed:\n{done.stdout}{done.stderr}\n{self.server_log()}")

    def server_log(self, tail: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def init(self) -> PrivatePostgres:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
                  "--locale=C", "--no-sync", "--no-instructions")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "30", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.url(name)

    def remove(self) -> None:
        """Stop the server if it runs (immediately: nothing of it is kept) and delete its files."""
        try:
            if self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def private_postgres():
    """A started PostgreSQL of this test's own (``.url(db)``, ``.create_database(name)``,
    ``.stop()``, ``.start()``); stopped and deleted after the test, whatever happened."""
    bindir = postgres_bindir()
    if bindir is None:
        unavailable("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    if os.geteuid() == 0 and not (shutil.which("runuser") and _has_user("postgres")):
        unavailable("as root, the drill runs PostgreSQL as the postgres user: runuser and that user are needed")
    server = PrivatePostgres(bindir)
    try:
        server.init().start()
        yield server
    finally:
        server.remove()


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture
def recording_provider():
    """The notify rig's provider over real HTTP that keeps every request (repeats included)."""
    provider = RecordingProvider().start()
    try:
        yield provider
    finally:
        provider.stop()
