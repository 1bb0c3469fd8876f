"""API request bodies. Shapes are checked here; the rules (ranges, consistency) in service.py."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ProgrammeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=2, max_length=64)
    name: dict[str, str]
    description: dict[str, str] = Field(default_factory=dict)
    how_to_apply: dict[str, str] = Field(default_factory=dict)
    active_from: date | None = None
    active_until: date | None = None
    channels: list[str] = Field(default_factory=list)
    callback_phone: str | None = Field(default=None, max_length=32)
    rules: Any


class ProgrammePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str | None = Field(default=None, min_length=2, max_length=64)
    name: dict[str, str] | None = None
    description: dict[str, str] | None = None
    how_to_apply: dict[str, str] | None = None
    active_from: date | None = None
    active_until: date | None = None
    channels: list[str] | None = None
    callback_phone: str | None = Field(default=None, max_length=32)
    rules: Any = None


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    consent: bool
    birth_date: date | None = None
    income_percentile: int | None = None
    household_size: int = 1
    lives_alone: bool = False
    disability_grade: int | None = None
    youngest_child_birth_date: date | None = None
    district: str | None = Field(default=None, max_length=64)
    notices_opt_out: bool = False


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run_async: bool = Field(default=False, alias="async")
    scan_date: date | None = Field(default=None, alias="date")


class ScreenerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    age: int | None = None
    income_percentile: int | None = None
    household_size: int = 1
    lives_alone: bool = False
    disability_grade: int | None = None
    youngest_child_age: int | None = None
    district: str | None = Field(default=None, max_length=64)
