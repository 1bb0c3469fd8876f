"""The database reader's attack on the secret ballot (PostgreSQL only: SQLite has no
transaction ids in its rows, which is why the old tests never saw the leak).

Residents vote with known, interleaved choices through the API. Then the test reads the database
as an attacker without the vote's private key would (a replica, a backup, read access): who
voted in which transaction (``xmin`` of the participation rows), every row of every table whose
``xmin``/``xmax`` is one of those transactions, rows paired by their order (``ctid``, ``id``),
column values and lengths, and, with ``pageinspect`` where the server has it, the dead and live
tuples and the index entries of the tables. It fails if any strategy links any voter to a
choice:

* a row or tuple that a voter's transaction wrote or touched holds a choice, and every such
  guess is right; or
* something observed (a value, a length, a row's size, an index entry's size) is shared by
  exactly the voters of one choice.

The control test runs the same reader against a counter updated per vote (the design of old)
and sees it link voters to choices: the reader is not blind.
"""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from sqlalchemy import text

from portal.extensions import db
from proposals.service import ballots
from proposals.vocabulary import CHOICES
from tests.proposals.helpers import requires_postgres

pytestmark = requires_postgres

CAST = ["for", "against", "against", "for", "against", "for", "for", "against"]  # interleaved
NAMES = "names the choice"  # an observation (..., NAMES, choice): a row or tuple holds a choice
# A text column holding exactly a choice, as it lies in a heap page (short varlena header).
CHOICE_BYTES = {c: bytes([(len(c) + 1) << 1 | 1]) + c.encode() for c in CHOICES}


def _vote(client, make_user, bearer, new_proposal, start_vote) -> tuple[int, dict[int, str]]:
    """A vote with known choices; some refused ballots on the way (they must write nothing)."""
    p = new_proposal(make_user())
    start_vote(p.id)
    url = f"/api/v1/proposals/{p.id}/ballot"
    cast, first = {}, None
    for choice in CAST:
        voter = make_user()
        headers = bearer(voter)
        assert client.post(url, json={"choice": choice}, headers=headers).status_code == 201
        cast[voter.id] = choice
        if first is None:
            first = headers
        else:  # the first voter tries again, with the other choice
            again = client.post(url, json={"choice": "for" if choice == "against" else "against"}, headers=first)
            assert again.status_code == 409
    assert client.post(url, json={"choice": "abstain"}, headers=bearer(make_user())).status_code == 422
    return p.id, cast


class Reader:
    """What someone reading the database without the vote's private key can put together."""

    def __init__(self, conn, proposal_id: int):
        self.conn = conn
        self.proposal_id = proposal_id
        # The outer envelope says who voted, and in which transaction.
        self.voters = {xid: uid for xid, uid in conn.execute(text(
            "SELECT xmin::text, user_id FROM proposal_ballot_participation WHERE proposal_id = :p"),
            {"p": proposal_id})}
        self.tables = list(conn.scalars(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")))

    def _rows(self, table: str, order: str = "ctid", of_proposal: bool = False):
        quoted = self.conn.scalar(text("SELECT quote_ident(:t)"), {"t": table})
        where = " WHERE t.proposal_id = :p" if of_proposal else ""
        return self.conn.execute(text(f"SELECT xmin::text, xmax::text, to_jsonb(t)::text FROM {quoted} t"  # noqa: S608
                                      f"{where} ORDER BY {order}"), {"p": self.proposal_id}).all()

    def _columns(self, table: str) -> set[str]:
        return set(self.conn.scalars(text(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = :t"), {"t": table}))

    @staticmethod
    def _describe(tag: tuple, row_json: str) -> set[tuple]:
        """What a row shows: each column's value and length, and any choice it holds."""
        seen = set()
        for column, value in json.loads(row_json).items():
            shown = json.dumps(value, sort_keys=True)
            seen |= {(*tag, "value", column, shown), (*tag, "length", column, len(shown))}
            if value in CHOICES:
                seen.add((*tag, NAMES, value))
        return seen

    def by_transaction_ids(self) -> dict[int, set]:
        """Every row of every table written (xmin) or locked or deleted (xmax) by a voter's
        transaction."""
        seen: dict[int, set] = defaultdict(set)
        for table in self.tables:
            for xmin, xmax, row in self._rows(table):
                for role, xid in (("xmin", xmin), ("xmax", xmax)):
                    if xid in self.voters:
                        seen[self.voters[xid]] |= self._describe(("xid", table, role), row)
        return seen

    def by_row_order(self) -> dict[int, set]:
        """The i-th voter (participation rows in physical or id order) paired with the i-th row
        of every table that has at least one row per voter."""
        seen: dict[int, set] = defaultdict(set)
        for order in ("ctid", "id"):
            voters = [self.voters[xmin] for xmin, _x, _r in self._rows(
                "proposal_ballot_participation", order, of_proposal=True)]
            for table in self.tables:
                columns = self._columns(table)
                if table == "proposal_ballot_participation" or (order != "ctid" and order not in columns):
                    continue
                rows = self._rows(table, order, of_proposal="proposal_id" in columns)
                if len(rows) < len(voters):
                    continue
                for uid, (_xmin, _xmax, row) in zip(voters, rows, strict=False):
                    seen[uid] |= self._describe(("order", order, table), row)
        return seen

    def by_pages(self) -> dict[int, set]:
        """pageinspect: every tuple, dead or alive, of every table, and every index entry of the
        proposal tables, by the transaction that wrote or deleted it."""
        seen: dict[int, set] = defaultdict(set)
        block = int(self.conn.scalar(text("SELECT current_setting('block_size')")))
        for table in self.tables:
            quoted = self.conn.scalar(text("SELECT quote_ident(:t)"), {"t": table})
            blocks = self.conn.scalar(text("SELECT pg_relation_size(CAST(:t AS regclass))"), {"t": quoted}) // block
            owner = {}
            for blkno in range(blocks):
                for lp, lp_len, xmin, xmax, data in self.conn.execute(text(
                        "SELECT lp, lp_len, t_xmin::text, t_xmax::text, t_data "
                        "FROM heap_page_items(get_raw_page(:t, :b))"), {"t": quoted, "b": blkno}):
                    if data is None:
                        continue
                    owner[f"({blkno},{lp})"] = xmin
                    for role, xid in (("xmin", xmin), ("xmax", xmax)):
                        if xid in self.voters:
                            found = seen[self.voters[xid]]
                            found.add(("page", table, role, "size", lp_len))
                            found |= {("page", table, role, NAMES, c)
                                      for c, raw in CHOICE_BYTES.items() if raw in bytes(data)}
            if table.startswith("proposal"):
                self._index_entries(table, owner, seen, block)
        return seen

    def _index_entries(self, table: str, owner: dict, seen: dict, block: int) -> None:
        for index in self.conn.scalars(text(
                "SELECT quote_ident(indexname) FROM pg_indexes WHERE schemaname = 'public' AND tablename = :t"),
                {"t": table}):
            blocks = self.conn.scalar(text("SELECT pg_relation_size(CAST(:i AS regclass))"), {"i": index}) // block
            for blkno in range(1, blocks):  # block 0 is the metapage
                for itemlen, htid in self.conn.execute(text(
                        "SELECT itemlen, htid::text FROM bt_page_items(:i, :b)"), {"i": index, "b": blkno}):
                    xmin = owner.get(htid)
                    if xmin in self.voters:
                        seen[self.voters[xmin]].add(("index", index, "size", itemlen))


def links(seen: dict[int, set], cast: dict[int, str]) -> list[str]:
    """How the observations link voters to choices; [] when they do not."""
    found = []
    guesses = {}
    for uid, observed in seen.items():
        named = {o[-1] for o in observed if o[-2] == NAMES}
        if len(named) == 1:
            guesses[uid] = named.pop()
    if guesses and all(cast[uid] == choice for uid, choice in guesses.items()):
        found.append(f"rows of their transactions name the choice of {len(guesses)} of {len(cast)} voters")
    holders = defaultdict(set)
    for uid, observed in seen.items():
        for o in observed:
            holders[o].add(uid)
    camps = [{uid for uid, c in cast.items() if c == choice} for choice in CHOICES]
    found += [f"{o} is seen for exactly the voters of one choice" for o, who in holders.items() if who in camps]
    return found


@pytest.fixture
def reader(app):
    with db.engine.connect() as conn:
        yield lambda proposal_id: Reader(conn, proposal_id)
        conn.rollback()


def _pageinspect(reader_conn) -> bool:
    try:
        with reader_conn.begin_nested():
            reader_conn.execute(text("CREATE EXTENSION IF NOT EXISTS pageinspect"))
    except Exception:  # noqa: BLE001 - not installed on this server, or not ours to install
        return False
    return True


def test_a_database_reader_cannot_link_a_voter_to_a_choice(client, make_user, bearer, new_proposal, start_vote,
                                                           end_and_count, reader):
    proposal_id, cast = _vote(client, make_user, bearer, new_proposal, start_vote)
    for moment in ("during the vote", "after the count"):
        if moment == "after the count":
            assert end_and_count(proposal_id).counted == [proposal_id]
        r = reader(proposal_id)
        assert set(r.voters.values()) == set(cast), moment
        by_xid = r.by_transaction_ids()
        # the reader does find each voter's inner envelope; it holds a ciphertext, not a choice
        assert all(any(o[:3] == ("xid", "proposal_sealed_ballots", "xmin") for o in by_xid[uid]) for uid in cast)
        assert links(by_xid, cast) == [], moment
        assert links(r.by_row_order(), cast) == [], moment
        r.conn.rollback()


def test_a_page_reader_cannot_link_a_voter_to_a_choice(client, make_user, bearer, new_proposal, start_vote,
                                                       end_and_count, reader):
    proposal_id, cast = _vote(client, make_user, bearer, new_proposal, start_vote)
    r = reader(proposal_id)
    if not _pageinspect(r.conn):
        pytest.skip("pageinspect is not available on this PostgreSQL server")
    r.conn.commit()
    for moment in ("during the vote", "after the count"):
        if moment == "after the count":
            assert end_and_count(proposal_id).counted == [proposal_id]
        pages = r.by_pages()
        assert all(any(o[:3] == ("page", "proposal_sealed_ballots", "xmin") for o in pages[uid]) for uid in cast)
        assert links(pages, cast) == [], moment
        r.conn.rollback()


def test_the_reader_links_a_counter_updated_per_vote(app, client, make_user, bearer, new_proposal, start_vote,
                                                     reader, monkeypatch):
    """The control: the tally counter of old, moved in the voter's transaction, is found."""
    seal = ballots.seal

    def seal_and_count(public_key, choice):
        db.session.execute(text("UPDATE proposal_ballot_tally SET votes = votes + 1 WHERE choice = :c"),
                           {"c": choice})
        return seal(public_key, choice)

    monkeypatch.setattr(ballots, "seal", seal_and_count)
    opened = start_vote

    def start_with_counters(proposal_id):
        opened(proposal_id)
        for choice in CHOICES:
            db.session.execute(text("INSERT INTO proposal_ballot_tally VALUES (:p, :c, 0)"),
                               {"p": proposal_id, "c": choice})
        db.session.commit()

    proposal_id, cast = _vote(client, make_user, bearer, new_proposal, start_with_counters)
    r = reader(proposal_id)
    assert links(r.by_transaction_ids(), cast)  # the last voter of each choice, by xmin
    if _pageinspect(r.conn):
        found = links(r.by_pages(), cast)
        assert f"rows of their transactions name the choice of {len(cast)} of {len(cast)} voters" in found
