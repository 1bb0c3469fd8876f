"""A fake SMS / voice provider for the notify bench: the HTTP provider contract and its receipts.

It accepts ``POST <url>`` call and text requests (``{"to", "text", "locale", "channel",
"reference"}``, ``Idempotency-Key``) with 202, and for each one it posts the receipt back to the
portal at the same rate: ``POST <portal>/api/v1/notify/providers/<channel>/events`` with
``{"reference", "event", "at"}`` (``delivered`` for SMS, ``answered`` for voice), signed as the
portal expects (``X-Provider-Timestamp``, ``X-Provider-Signature: sha256=<hex HMAC-SHA256 of
"<timestamp>.<raw body>">`` under ``<CHANNEL>_PROVIDER_SECRET``).

An event answered 409 (``not_sent_yet``: the worker has not recorded the hand-over yet) or 404
(``unknown_reference``) is posted again a moment later, as a real provider would; anything else
that is not 204 is counted as an error and posted again too, so no event is dropped silently.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

RECEIPT = {"sms": "delivered", "voice": "answered", "email": "delivered"}


def sign(secret: str, timestamp: str, raw_body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + raw_body, hashlib.sha256).hexdigest()


class FakeProvider:
    """Threaded HTTP server (the provider's API) plus ``posters`` threads posting the receipts."""

    def __init__(self, portal_url: str, secret: str, posters: int = 8, retry_pause: float = 0.05):
        self.portal_url = portal_url.rstrip("/")
        self.secret = secret
        self.retry_pause = retry_pause
        self.lock = threading.Lock()
        self.requests = Counter()  # Idempotency-Key -> requests received
        self.references = Counter()  # body reference -> requests received
        self.events = Counter()  # reference -> events answered 204
        self.statuses = Counter()  # answer status of every event post
        self.first_post: float | None = None
        self.last_post: float | None = None
        self.pending: queue.Queue = queue.Queue()
        self.stopping = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.server.request_queue_size = 128
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1/messages"
        self.threads = [threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                         daemon=True)]
        self.threads += [threading.Thread(target=self._post_events, daemon=True) for _ in range(posters)]

    def settings(self, channel: str = "SMS") -> dict[str, str]:
        return {f"{channel}_PROVIDER": "http", f"{channel}_PROVIDER_URL": self.url,
                f"{channel}_PROVIDER_KEY": "bench-key", f"{channel}_PROVIDER_SECRET": self.secret}

    def start(self) -> FakeProvider:
        for thread in self.threads:
            thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def posts(self) -> int:
        return sum(self.statuses.values())

    # -- the provider's API ------------------------------------------------------------------

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the worker's requests.Session reuses it
            disable_nagle_algorithm = True

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                reference, channel = body.get("reference"), body.get("channel", "sms")
                with provider.lock:
                    provider.requests[self.headers.get("Idempotency-Key")] += 1
                    provider.references[reference] += 1
                payload = b'{"ok": true}'
                self.send_response(202)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                # its receipt, posted by a poster thread; "at" is fixed now, so a re-post is the same event
                provider.pending.put((channel, reference, datetime.now(UTC).isoformat()))

            def log_message(self, *args):
                return

        return Handler

    # -- the receipts -------------------------------------------------------------------------

    def _post_events(self) -> None:
        http = requests.Session()
        while not self.stopping.is_set():
            try:
                channel, reference, at = self.pending.get(timeout=0.1)
            except queue.Empty:
                continue
            raw = json.dumps({"reference": reference, "event": RECEIPT[channel],
                              "at": at}).encode()
            timestamp = str(int(time.time()))
            try:
                status = http.post(f"{self.portal_url}/api/v1/notify/providers/{channel}/events", data=raw,
                                   headers={"Content-Type": "application/json", "X-Provider-Timestamp": timestamp,
                                            "X-Provider-Signature": sign(self.secret, timestamp, raw)},
                                   timeout=30).status_code
            except requests.RequestException:
                status = 0
            now = time.perf_counter()
            with self.lock:
                self.statuses[status] += 1
                self.first_post = self.first_post or now
                self.last_post = now
                if status == 204:
                    self.events[reference] += 1
            if status != 204:  # not recorded yet (409/404) or an error: post it again shortly
                time.sleep(self.retry_pause)
                self.pending.put((channel, reference, at))
