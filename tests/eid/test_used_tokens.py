"""Replay across the purge: used token ids are kept, and forgotten, by the database's clock,
never a host's (``portal.eid.verify.store``).

A gate host's clock is skewed by patching ``time.time`` in this process while the gate checks
run (both paths read it); the beat host's by patching it, and the UTC "now" helpers, while the
purge runs. The database's clock (PostgreSQL's, or SQLite's on this host) is never skewed.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime, timedelta

import pytest

from portal.eid import keys, service, verifier
from portal.eid.models import Card, UsedToken
from portal.eid.verify import gates, store
from portal.eid.verify.store import USED_TOKEN_MARGIN
from portal.extensions import db

MODES = ("flask", "fast")
REAL_TIME = time.time
KEPT = verifier.LEEWAY + USED_TOKEN_MARGIN  # seconds a used id outlives its token's exp


@pytest.fixture
def host_clock(monkeypatch):
    """host_clock(skew): a context in which this process's clock is ``skew`` seconds off."""

    @contextlib.contextmanager
    def skewed(skew: float):
        with monkeypatch.context() as patch:
            patch.setattr(time, "time", lambda: REAL_TIME() + skew)
            shifted = lambda: datetime.now(UTC) + timedelta(seconds=skew)  # noqa: E731
            patch.setattr("portal.types.utcnow", shifted)
            patch.setattr(store, "utcnow", shifted, raising=False)  # where a purge read it
            yield

    return skewed


@pytest.fixture
def gate(app, monkeypatch, make_gate):
    """A gate key whose checks either path answers (the fast path's caches kept warm)."""
    monkeypatch.setattr(gates.GateCache, "TTL", 3600.0)
    monkeypatch.setattr(keys._KeyCache, "TTL", 3600.0)
    key, _facility = make_gate()
    return key


@pytest.fixture
def present(gate, verify_by):
    """present(mode, token) -> the gate's answer (reason) through Flask or the fast path."""

    def call(mode, token):
        response, fast = verify_by(mode, gate, token)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert fast == (mode == "fast")
        return response.get_json()["reason"]

    return call


@pytest.fixture
def card(resident, card_for):
    card_for(resident)
    return db.session.scalar(db.select(Card))


def signed(card, exp: int) -> str:
    """A token of ``card`` that expires at ``exp`` (signed ``TOKEN_SECONDS`` before)."""
    iat = exp - 60
    token, lifetime = service.sign_token(db.session, card, datetime.fromtimestamp(iat, tz=UTC))
    assert lifetime == 60
    return token


def purge() -> int:
    return service.purge_used_tokens(db.session)


def used_ids() -> dict[str, datetime]:
    db.session.expire_all()
    return {row.jti: row.expires_at for row in db.session.scalars(db.select(UsedToken))}


@pytest.mark.parametrize("mode", MODES)
def test_a_gate_behind_cannot_have_a_token_granted_twice_across_the_purge(mode, card, present,
                                                                          host_clock):
    """The issue's case: the gate host 3 s behind, the beat host 5 s ahead. A token granted
    29 s after its exp (within the leeway for everybody) is purged by the beat host's clock a
    moment later, and the gate, which still finds it valid, granted it again."""
    exp = int(REAL_TIME()) - 28
    token = signed(card, exp)
    with host_clock(-3):
        assert present(mode, token) == "ok"
    with host_clock(+5):
        purge()
    with host_clock(-3):
        assert present(mode, token) == "replayed"
    # kept, with the token's own exp, until exp + leeway + margin by the database's clock
    jti = verifier.parse_unverified(token)[1]["jti"]
    assert used_ids() == {jti: datetime.fromtimestamp(exp, tz=UTC)}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("skew", [-3, 3, -3600, 3600])
def test_a_skewed_gate_cannot_replay_a_token_across_the_purge(mode, skew, card, present,
                                                              host_clock):
    """Whatever the gate host's clock says (behind or ahead, a little or an hour), a token it
    finds valid is granted at most once: while its id may be purged (its exp plus leeway
    and margin past by the database's clock) it is expired for every gate; before that its
    id is kept, whatever the beat host's clock says."""
    gate_now = REAL_TIME() + skew
    token = signed(card, int(gate_now) + 59)  # a fresh token, by the gate host's clock
    live = int(gate_now) + 59 + verifier.LEEWAY >= REAL_TIME() + 1  # by the database's clock
    with host_clock(skew):
        first = present(mode, token)
    assert first == ("ok" if live else "expired")
    for beat_skew in (-3600, +3600):
        with host_clock(beat_skew):
            purge()
    with host_clock(skew):
        assert present(mode, token) == ("replayed" if live else "expired")
    assert len(used_ids()) == (1 if live else 0)  # an expired token uses nothing up


def test_the_purge_forgets_ids_by_the_database_clock(app, host_clock):
    """Ids whose token's exp is more than leeway + margin past by the database's clock go,
    the others stay, whichever way the purging host's clock is off."""
    if db.engine.dialect.name == "postgresql":
        db_now = db.session.scalar(db.text("SELECT now()"))
        db.session.commit()
    else:  # SQLite's clock is this host's own
        db_now = datetime.now(UTC)
    for beat_skew in (-3600, 0, 3600):
        db.session.add_all([
            UsedToken(jti="gone-jti", expires_at=db_now - timedelta(seconds=KEPT + 5)),
            UsedToken(jti="kept-jti", expires_at=db_now - timedelta(seconds=KEPT - 10)),
            UsedToken(jti="young-jti", expires_at=db_now + timedelta(seconds=60))])
        db.session.commit()
        with host_clock(beat_skew):
            assert purge() == 1
        assert sorted(used_ids()) == ["kept-jti", "young-jti"], beat_skew
        db.session.execute(db.delete(UsedToken))
        db.session.commit()
