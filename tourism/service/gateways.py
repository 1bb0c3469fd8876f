"""Payment providers: the interface the booking service talks to, and the `sandbox` gateway.

A provider is asked to start a payment (it answers with the URL the payer is sent to), later
calls back with a signed message (verified here before anything changes), and is asked for
refunds. The sandbox behaves like a real gateway: its payment page is `/tourism/sandbox/pay/<id>`,
its callback is signed with HMAC-SHA256 under ``TOURISM_SANDBOX_SECRET`` and is handled by
the same service function as `/api/v1/tourism/payments/sandbox/callback`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

from flask_babel import lazy_gettext as _l

from portal.errors import Invalid

from .. import settings
from ..errors import BadCallback, BadSignature
from ..limits import GATEWAY_ID_MAX


class PaymentProvider:
    """What a gateway offers the booking service."""

    name = ""

    @staticmethod
    def enabled() -> bool:
        return True

    def start(self, payment) -> str:
        """Register `payment` with the gateway; return the URL the payer continues at."""
        raise NotImplementedError

    def verify_callback(self, body: bytes, signature: str | None) -> dict:
        """Check a callback's signature; return {"payment_id", "status", "amount", "transaction_id"}."""
        raise NotImplementedError

    def refund(self, payment, amount: int) -> str:
        """Refund `amount` of a paid payment; return the gateway's refund id."""
        raise NotImplementedError


class SandboxProvider(PaymentProvider):
    name = "sandbox"
    signature_header = "X-Sandbox-Signature"

    @staticmethod
    def enabled() -> bool:
        """On by default, off in production unless TOURISM_SANDBOX_ENABLED says otherwise:
        a sandbox payment takes no money."""
        return settings.sandbox_enabled()

    def sign(self, body: bytes) -> str:
        return hmac.new(settings.sandbox_secret(), body, hashlib.sha256).hexdigest()

    def start(self, payment) -> str:
        return f"/tourism/sandbox/pay/{payment.public_id}"

    def callback_for(self, payment, outcome: str) -> tuple[bytes, str]:
        """The signed message the sandbox gateway sends when the payer pays or fails."""
        body = json.dumps({
            "payment_id": payment.public_id,
            "status": "paid" if outcome == "pay" else "failed",
            "amount": payment.amount,
            "transaction_id": "sbx_" + secrets.token_hex(8),
        }, sort_keys=True).encode()
        return body, self.sign(body)

    def verify_callback(self, body: bytes, signature: str | None) -> dict:
        if not signature or not hmac.compare_digest(self.sign(body), signature.strip()):
            raise BadSignature()
        try:
            data = json.loads(body)
            out = {
                "payment_id": str(data["payment_id"]),
                "status": str(data["status"]),
                "amount": int(data["amount"]),
                "transaction_id": str(data.get("transaction_id") or ""),
            }
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise BadCallback() from exc
        if len(out["payment_id"]) > GATEWAY_ID_MAX or len(out["transaction_id"]) > GATEWAY_ID_MAX:
            raise BadCallback()  # longer than the columns: not a payment of ours
        return out

    def refund(self, payment, amount: int) -> str:
        return "sbx_rf_" + secrets.token_hex(8)


PROVIDERS: dict[str, PaymentProvider] = {"sandbox": SandboxProvider()}


def get_provider(name: str | None) -> PaymentProvider:
    provider = PROVIDERS.get(name or "")
    if provider is None or not provider.enabled():
        raise Invalid(fields={"provider": _l("Unknown payment provider.")})
    return provider
