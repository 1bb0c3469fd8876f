"""Helpers for tests that race real concurrent clients."""

from __future__ import annotations

import threading


def race(n: int, fn, timeout: float = 60) -> list:
    """Run fn(i) in n threads released at once by a barrier; returns the results in order.

    An exception raised by fn(i) is returned in its place, for the test's assertions to report.
    """
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - reported by the caller's assertions
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results
