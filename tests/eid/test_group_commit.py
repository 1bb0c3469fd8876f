"""The group commit (``portal.eid.verify.group_commit.GroupCommit``) when requests give up:
whoever is cancelled, and wherever, the lead passes on and no check waits without a bound.

Cancellation is what gevent does to a request (``GreenletExit``, or ``GateHungUp`` when its
gate hangs up): an exception that is not an ``Exception``, raised where the request waits.
Here threads play the requests and a ``BaseException`` is raised where a request waits, at
the moment the test chooses (threads cannot be killed; the gunicorn drill in
``test_gate_faults`` does the same with real gevent workers).
"""

from __future__ import annotations

import threading
import time

import pytest

from portal.eid.errors import VerifyUnavailable
from portal.eid.verify import group_commit
from portal.eid.verify.group_commit import GroupCommit


class Cancelled(BaseException):
    """A request cancelled where it waits (as gevent's GreenletExit)."""


class Recorder:
    """A commit function: records each batch; a batch whose first check is in ``hold`` waits
    until the test releases it, then ``hold[name]`` decides: "ok" writes every row, a
    ``BaseException`` is raised there (the leader cancelled mid-statement)."""

    def __init__(self):
        self.batches: list[list[str]] = []
        self.hold: dict[str, threading.Event] = {}
        self.outcome: dict[str, object] = {}
        self.started = threading.Event()

    def __call__(self, batch, deadline):
        names = [check.params for check in batch]
        self.batches.append(names)
        first = names[0]
        if first in self.hold:
            self.started.set()
            assert self.hold[first].wait(10), "the test never released the batch"
            outcome = self.outcome.get(first, "ok")
            if isinstance(outcome, BaseException):
                raise outcome
        for check in batch:
            check.row = check.params

    def committed(self) -> list[str]:
        return [name for batch in self.batches for name in batch]


@pytest.fixture
def cancel_on(monkeypatch):
    """cancel_on(name, when): the request writing check ``name`` is cancelled where it waits:
    ``when="woken"`` as soon as it is woken (made the leader, or answered), ``when=0.2``
    after 0.2 s of waiting."""
    plans: dict[str, object] = {}

    class CancellableEvent(threading.Event):
        def __init__(self, name):
            super().__init__()
            self.name = name

        def wait(self, timeout=None):
            plan = plans.get(self.name)
            if isinstance(plan, float):
                woke = super().wait(plan if timeout is None else min(timeout, plan))
                if not woke:
                    raise Cancelled
                return woke
            woke = super().wait(timeout)
            if plan == "woken" and woke:
                raise Cancelled
            return woke

    class Check(group_commit.Check):
        __slots__ = ()

        def __init__(self, params):
            super().__init__(params)
            self.event = CancellableEvent(params)

    monkeypatch.setattr(group_commit, "Check", Check)
    return plans.__setitem__


def start(writer: GroupCommit, name: str) -> dict:
    """Write check ``name`` in a thread of its own; returns its result holder."""
    result: dict = {}

    def run():
        try:
            result["row"] = writer.write(name)
        except BaseException as exc:  # noqa: BLE001 - the test reads it
            result["error"] = exc
        result["at"] = time.monotonic()

    result["thread"] = threading.Thread(target=run, daemon=True)
    result["thread"].start()
    return result


def finished(result: dict, timeout: float = 3.0) -> dict:
    result["thread"].join(timeout)
    assert not result["thread"].is_alive(), "the request still waits: the gate process hangs"
    return result


def queued(writer: GroupCommit, n: int) -> None:
    deadline = time.monotonic() + 3
    while len(writer._queue) < n:
        assert time.monotonic() < deadline, "checks were not queued"
        time.sleep(0.005)


def behind_x(writer: GroupCommit, commit: Recorder, *names: str) -> tuple[dict, list[dict]]:
    """Check "x" holds the line (its statement waits for the test) while ``names`` queue
    behind it, in order; then x's statement ends and their batch begins (and waits in turn,
    its first check being in ``commit.hold``). Returns x's and their result holders."""
    commit.hold["x"] = threading.Event()
    x = start(writer, "x")
    assert commit.started.wait(3)
    waiting = []
    for n, name in enumerate(names, 1):
        waiting.append(start(writer, name))
        queued(writer, n)
    commit.started.clear()
    commit.hold["x"].set()
    assert commit.started.wait(3)
    return x, waiting


def a_held(wait: float = 5.0) -> tuple[Recorder, GroupCommit, dict]:
    """A group commit whose first check, "a", is being written, its statement waiting for
    the test (``commit.hold["a"]``). Returns the commit, the writer and a's result holder."""
    commit = Recorder()
    commit.hold["a"] = threading.Event()
    writer = GroupCommit(commit, wait=wait)
    a = start(writer, "a")
    assert commit.started.wait(3)
    return commit, writer, a


def test_a_follower_cancelled_when_made_the_leader_passes_the_lead_on(cancel_on):
    commit, writer, a = a_held()
    cancel_on("b", "woken")  # b is next in line: it is handed the lead, and dies there
    b = start(writer, "b")
    queued(writer, 1)
    c = start(writer, "c")
    queued(writer, 2)
    commit.hold["a"].set()

    assert finished(a)["row"] == "a"
    assert isinstance(finished(b)["error"], Cancelled)
    assert finished(c)["row"] == "c"  # b passed the lead on before it went
    assert finished(start(writer, "d"))["row"] == "d"  # and the process goes on
    assert commit.committed() == ["a", "c", "d"]  # nothing of b's check was written
    assert not writer._leading and writer._queue == []


def test_a_follower_cancelled_while_queued_leaves_the_queue(cancel_on):
    commit, writer, a = a_held()
    cancel_on("b", 0.2)  # cancelled while it waits behind a's statement
    b = start(writer, "b")
    c = start(writer, "c")
    assert isinstance(finished(b)["error"], Cancelled)
    commit.hold["a"].set()
    assert (finished(a)["row"], finished(c)["row"]) == ("a", "c")
    assert commit.committed() == ["a", "c"]
    assert finished(start(writer, "d"))["row"] == "d"


def test_a_leader_cancelled_mid_statement_answers_its_batch_and_passes_the_lead(cancel_on):
    """x's statement holds the line while a and b queue; a leads their batch and is
    cancelled in the middle of it: b is told to try again, c (queued meanwhile) leads next."""
    commit = Recorder()
    commit.hold["a"] = threading.Event()
    commit.outcome["a"] = Cancelled()
    writer = GroupCommit(commit, wait=5)
    x, (a, b) = behind_x(writer, commit, "a", "b")  # a's batch [a, b] is being written
    c = start(writer, "c")
    queued(writer, 1)
    commit.hold["a"].set()  # ... and a is cancelled there

    assert finished(x)["row"] == "x"
    assert isinstance(finished(a)["error"], Cancelled)
    assert isinstance(finished(b)["error"], VerifyUnavailable)  # never the leader's GreenletExit
    assert finished(c)["row"] == "c"
    assert commit.batches == [["x"], ["a", "b"], ["c"]]
    assert finished(start(writer, "d"))["row"] == "d"


def test_a_check_waits_a_bounded_time_then_is_told_to_try_again():
    """A statement that never ends (a database that stopped answering): the checks behind it
    answer 503 after ``wait`` seconds, and nothing of them is written later."""
    commit, writer, a = a_held(wait=0.3)
    began = time.monotonic()
    b = start(writer, "b")
    assert isinstance(finished(b)["error"], VerifyUnavailable)
    assert 0.25 < b["at"] - began < 2
    assert writer._queue == []  # b left the queue
    commit.hold["a"].set()
    assert finished(a)["row"] == "a"
    assert finished(start(writer, "c"))["row"] == "c"
    assert commit.committed() == ["a", "c"]


def test_a_check_in_a_batch_that_never_ends_is_told_to_try_again():
    commit = Recorder()
    commit.hold["a"] = threading.Event()
    writer = GroupCommit(commit, wait=0.3)
    x, (a, b) = behind_x(writer, commit, "a", "b")  # [a, b] taken, its statement hangs
    assert isinstance(finished(b)["error"], VerifyUnavailable)  # after at most 2 x wait
    assert finished(x)["row"] == "x"
    commit.hold["a"].set()
    assert finished(a)["row"] == "a"
