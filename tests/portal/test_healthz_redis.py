"""/healthz keeps one Redis client per process (issue 14: a client per request cost about 3 ms),
and still asks the server on every call: a Redis that goes away after a healthy answer makes
the next answer 503, and one that comes back makes it 200 again."""

from __future__ import annotations

import socket
import threading


class FakeRedis:
    """A RESP server that answers HELLO (RESP3, which redis-py asks for), PING with PONG and
    anything else with OK, until stopped."""

    def __init__(self, port: int = 0):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            # one answer per command in the buffer (each starts with '*' at a line's start)
            for command in data.split(b"\r\n*"):
                name = command.upper()
                conn.sendall(b"%1\r\n+proto\r\n:3\r\n" if b"HELLO" in name
                             else b"+PONG\r\n" if b"PING" in name else b"+OK\r\n")

    def stop(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread, stops listening
        except OSError:
            pass
        self.sock.close()
        for conn in self.conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()


def test_healthz_asks_redis_on_every_call(make_app):
    server = FakeRedis()
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{server.port}/0")
    client = app.test_client()
    try:
        for _ in range(3):
            resp = client.get("/healthz")
            assert resp.status_code == 200 and resp.get_json()["checks"]["redis"] == "ok"
        assert len(server.conns) == 1  # one connection kept, not one per request
        server.stop()
        resp = client.get("/healthz")
        assert resp.status_code == 503 and resp.get_json()["checks"]["redis"].startswith("error")
        server = FakeRedis(server.port)
        resp = client.get("/healthz")
        assert resp.status_code == 200 and resp.get_json()["checks"]["redis"] == "ok"
    finally:
        server.stop()
