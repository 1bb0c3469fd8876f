"""A rig for the notification queue's fault drills, importable by any test (``from tests.notify.rig
import ...``): providers that keep EVERY request they receive, so that a test can see a notice
sent twice, and real worker processes on a private Redis.

- :class:`RecordingProvider`: an SMS/voice provider over real HTTP (``ThreadingHTTPServer``). It
  keeps every request with its ``Idempotency-Key`` and never drops a repeat (a provider of ours
  that drops repeats, like the ``log`` provider, hides the very duplicate a test looks for). It can
  be slow (:attr:`~RecordingProvider.delay`), fail (:attr:`~RecordingProvider.statuses`) and hold
  every request after the n-th (:meth:`~RecordingProvider.gate`), so a fault lands mid-run.
- :class:`MailSink`: an SMTP server (aiosmtpd) on a fixed port that keeps every message it
  accepted with its ``Message-ID``; it can be down (connection refused), not answering (TCP
  accepted, no greeting ever), or hold the messages after the n-th.
- :class:`PrivateRedis`, :class:`Worker`, :func:`worker_env`: a redis-server and
  ``celery -A portal.tasks worker -B`` processes of the test's own.
- :class:`Tally`: what a provider's record says: sent twice, lost, in flight.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CELERY = str(Path(sys.executable).with_name("celery"))
ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "test-secret-key"  # tests.conftest's: the workers' references match the test's


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout: float, what: str, step: float = 0.02):
    """``predicate()``'s first true value within ``timeout`` seconds, else AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


class _Gate:
    """Holds whatever comes after the ``after``-th arrival until :meth:`open` (or ``hold_max``
    seconds, so that a test that fails never hangs a server thread for good)."""

    def __init__(self):
        self.after: int | None = None
        self.opened = threading.Event()
        self.opened.set()

    def close(self, after: int) -> None:
        self.after = after
        self.opened.clear()

    def open(self) -> None:
        self.opened.set()

    def holds(self, number: int) -> bool:
        return self.after is not None and number > self.after and not self.opened.is_set()


@dataclass
class Received:
    """One request as the provider got it."""

    number: int  # 1, 2, ... in order of arrival
    key: str | None  # the Idempotency-Key header
    body: dict
    headers: dict
    client_port: int  # the sender's local port: which process sent it (see pid_of_client)
    received: float = field(default_factory=time.monotonic)
    answered: float | None = None  # None: still in flight (held, slow, or its sender died)
    status: int | None = None


class RecordingProvider:
    """An HTTP SMS/voice provider that keeps every request it receives.

    ``delay(received) -> seconds`` makes it slow for the requests it chooses; ``statuses`` are
    answered in turn (then 202); :meth:`gate` holds every request after the n-th until
    :meth:`open`.  A request is recorded when it arrives, before any delay or gate: the
    provider has it, whatever the sender learns afterwards.
    """

    def __init__(self, hold_max: float = 60.0):
        self.received: list[Received] = []
        self.statuses: list[int] = []
        self.delay: Callable[[Received], float] = lambda r: 0.0
        self.lock = threading.Lock()
        self.gate_ = _Gate()
        self.hold_max = hold_max
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1/messages"
        self.thread: threading.Thread | None = None

    # -- life ---------------------------------------------------------------------------------

    def start(self) -> RecordingProvider:
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.gate_.open()
        self.server.shutdown()
        self.server.server_close()

    def settings(self, channels: Iterable[str] = ("SMS", "VOICE")) -> dict[str, str]:
        """The settings (app config or worker environment) that point channels at it."""
        out: dict[str, str] = {}
        for channel in channels:
            out.update({f"{channel}_PROVIDER": "http", f"{channel}_PROVIDER_URL": self.url,
                        f"{channel}_PROVIDER_KEY": f"{channel.lower()}-test-key"})
        return out

    # -- faults -------------------------------------------------------------------------------

    def gate(self, after: int) -> None:
        """Hold every request after the ``after``-th one until :meth:`open`."""
        self.gate_.close(after)

    def open(self) -> None:
        self.gate_.open()

    # -- what it got --------------------------------------------------------------------------

    def keys(self) -> Counter:
        with self.lock:
            return Counter(r.key for r in self.received)

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def answered(self) -> int:
        with self.lock:
            return sum(1 for r in self.received if r.answered is not None)

    def in_flight(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.answered is None]

    def held(self) -> list[Received]:
        """Requests waiting at the gate now."""
        with self.lock:
            return [r for r in self.received if r.answered is None and self.gate_.holds(r.number)]

    @property
    def requests(self) -> list[dict]:
        """Every request as ``{"headers", "json"}`` (the shape the channel tests read)."""
        with self.lock:
            return [{"headers": r.headers, "json": r.body} for r in self.received]

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as requests.Session uses it
            disable_nagle_algorithm = True  # the answer's head and body: no 40 ms delayed-ACK stall

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                with provider.lock:
                    got = Received(number=len(provider.received) + 1, key=self.headers.get("Idempotency-Key"),
                                   body=body, headers=dict(self.headers), client_port=self.client_address[1])
                    provider.received.append(got)
                    status = provider.statuses.pop(0) if provider.statuses else 202
                if provider.gate_.holds(got.number):
                    provider.gate_.opened.wait(provider.hold_max)
                pause = provider.delay(got)
                if pause:
                    time.sleep(pause)
                payload = b'{"ok": true}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the sender is gone (killed): the provider still has the request
                    pass
                with provider.lock:
                    got.answered, got.status = time.monotonic(), status

            def log_message(self, *args):
                return

        return Handler


class _Sink:
    """aiosmtpd handler: every accepted message, parsed, with its arrival number."""

    def __init__(self, owner: MailSink):
        self.owner = owner

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.owner.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes
        from email.policy import default

        owner = self.owner
        with owner.lock:
            owner.arrived += 1
            number = owner.arrived
        while owner.gate_.holds(number):  # held: the client waits for our answer
            await asyncio.sleep(0.02)
        with owner.lock:  # kept only once accepted: a message the server died holding is not
            owner.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 Message accepted for delivery"


class MailSink:
    """A real SMTP server on a fixed port of 127.0.0.1 that keeps every message it accepted.

    :meth:`down` refuses connections; :meth:`not_answering` accepts TCP connections and never
    says a word (a server that hangs: the client's timeouts are what end the wait);
    :meth:`up` serves again on the same port; :meth:`gate` holds the answer to each message
    after the n-th (a message held when the server goes down is not kept).
    """

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.messages: list = []
        self.refuse: set[str] = set()
        self.lock = threading.Lock()
        self.arrived = 0
        self.gate_ = _Gate()
        self.controller = None
        self.black_hole: socket.socket | None = None
        self.held_connections: list[socket.socket] = []
        self.silent_connections = 0  # connections taken while not answering

    def settings(self) -> dict[str, str]:
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(self.port), "MAIL_USE_TLS": "false",
                "MAIL_FROM": "알림 <noreply@city.example.kr>"}

    def up(self) -> MailSink:
        from aiosmtpd.controller import Controller

        self._close_black_hole()
        self.controller = Controller(_Sink(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def down(self) -> None:
        """Connections refused; a message held at the gate dies with the server, unkept."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
        self.gate_.open()
        self._close_black_hole()

    def not_answering(self) -> None:
        """Down, and something listens on the port that accepts and never answers."""
        self.down()
        hole = socket.socket()
        hole.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        hole.bind(("127.0.0.1", self.port))
        hole.listen(64)
        self.black_hole = hole

        def take():
            while True:
                try:
                    conn, _ = hole.accept()
                except OSError:
                    return
                with self.lock:
                    self.silent_connections += 1
                    self.held_connections.append(conn)

        threading.Thread(target=take, daemon=True).start()

    def _close_black_hole(self) -> None:
        if self.black_hole is not None:
            try:
                self.black_hole.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.black_hole.close()
            self.black_hole = None
        with self.lock:
            for conn in self.held_connections:
                conn.close()
            self.held_connections.clear()

    def gate(self, after: int) -> None:
        self.gate_.close(after)

    def open(self) -> None:
        self.gate_.open()

    def message_ids(self) -> Counter:
        with self.lock:
            return Counter(m["Message-ID"] for m in self.messages)

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


@dataclass
class Tally:
    """What a provider's record says about ``expected`` references (each notice's reference
    is the keyed hash of its idempotency key): every one received, none twice."""

    counts: Counter
    expected: set[str]

    @property
    def twice(self) -> dict[str, int]:
        return {key: n for key, n in self.counts.items() if n > 1}

    @property
    def lost(self) -> set[str]:
        return self.expected - set(self.counts)

    @property
    def strangers(self) -> set:
        """What the provider got that is no notice of ours (a wrong or missing key)."""
        return set(self.counts) - self.expected


# -- processes ---------------------------------------------------------------------------------

class PrivateRedis:
    """A redis-server of the test's own (no persistence: what it held dies with it)."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tmp
        self.proc: subprocess.Popen | None = None

    def start(self) -> PrivateRedis:
        import redis

        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def worker_env(database_url: str, redis_url: str, **settings: str) -> dict[str, str]:
    """The environment of a worker process on ``database_url`` and ``redis_url``."""
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SECRET_KEY": SECRET_KEY,
           "PYTHONPATH": str(ROOT), "NOTIFY_QUIET_START": "off", **{k: str(v) for k, v in settings.items()}}
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    return env


class Worker:
    """``celery -A portal.tasks worker -B`` (prefork) in a session of its own: SIGKILL of its
    group takes the main process, its pool and its beat at once, as when its machine dies."""

    def __init__(self, env: dict, tmp: Path, name: str, concurrency: int = 2, beat: bool = True):
        self.name = name
        self.log = tmp / f"{name}.log"
        args = [CELERY, "-A", "portal.tasks", "worker", "-c", str(concurrency), "-l", "info",
                "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        if beat:
            args += ["-B", "-s", str(tmp / f"{name}-beat")]
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=open(self.log, "wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 40) -> Worker:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in self.log.read_bytes():
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("worker did not start:\n" + self.log.read_text(errors="replace")[-3000:])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole worker (main process, pool, beat)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, wait: float = 5) -> None:
        """SIGTERM (a warm shutdown), SIGKILL after ``wait`` seconds."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                self.kill()
            except ProcessLookupError:
                pass

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def pid_of_client(port: int) -> int | None:
    """The pid of the local process whose TCP socket has local port ``port`` (the sender of a
    request, as the server saw it): /proc/net/tcp gives the socket's inode, /proc/<pid>/fd who
    holds it."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if int(parts[1].rsplit(":", 1)[1], 16) == port and parts[9] != "0":
                inode = parts[9]
                break
        if inode:
            break
    if inode is None:
        return None
    wanted = f"socket:[{inode}]"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == wanted:
                    return int(pid)
        except OSError:
            continue
    return None


def sweeps(log_text: str) -> int:
    """How many notices the sweep re-queued, from workers' logs."""
    import re

    return sum(int(n) for n in re.findall(r"notify sweep: re-queued (\d+) notices", log_text))
