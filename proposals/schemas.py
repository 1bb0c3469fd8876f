"""API request bodies. Types only: the service holds the rules and the field messages."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ProposalIn(_In):
    title: str | None = None
    body: str | None = None
    category: str | None = None
    district: str | None = None
    location: str | None = None


class TransitionIn(_In):
    to: str
    answer: str | dict[str, str] | None = None
    department: str | None = None
    vote_ends_at: str | None = None
    reason: str | None = None


class BallotIn(_In):
    choice: str


class CommentIn(_In):
    body: str | None = None


class FlagIn(_In):
    reason: str | None = None


class MergeIn(_In):
    into: int
