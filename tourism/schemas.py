"""API request bodies (pydantic): the shell's parse_body turns failures into 422 with fields."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, EmailStr, Field

from .service import MAX_QUANTITY


class Guest(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    email: EmailStr
    phone: str | None = Field(default=None, max_length=40)


class BookingIn(BaseModel):
    slot_id: int = Field(gt=0)
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    guest: Guest
    locale: Literal["ko", "en", "zh"] | None = None


class WaitlistIn(BaseModel):
    quantity: int = Field(ge=1, le=MAX_QUANTITY)
    guest: Guest
    locale: Literal["ko", "en", "zh"] | None = None


class PaymentIn(BaseModel):
    provider: str = Field(min_length=1, max_length=20)
    sandbox_outcome: Literal["pay", "fail"] = "pay"
    email: EmailStr | None = None


class CancelIn(BaseModel):
    email: EmailStr | None = None


class CheckInIn(BaseModel):
    reference: str = Field(min_length=1, max_length=20)
