"""Bench: the size of a real e-ID presentation and of its QR code (issue 15, part 3).

    .venv/bin/python bench/eid_qr.py                      # a fresh SQLite database in a temp dir
    .venv/bin/python bench/eid_qr.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/x

Makes everything the way the portal does it: a fresh database with the schema from the
migrations (``flask db upgrade``; ``--create-all`` uses ``db.create_all`` as the tests do), a
verified resident with a district and a birth date, a card (``service.issue_card``), a
credential issued by the service for a phone's key (``service.issue_credential`` for
``presentation.Device().jwk()``), and the phone's presentation of it (``Device.present``). Prints
its characters, the QR version at error correction M (segno, alphanumeric mode,
``segno.make(text, error="m", boost_error=False)``) and the byte sizes of the credential and the
proof; then the same for the older server token (a JWS, ``service.card_token``) for comparison.
The presentation is checked with ``portal.eid.verifier.verify`` (it must be granted) so the
figures are those of one a gate accepts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import segno  # noqa: E402

SECRET = "bench-secret-key-not-for-production"
ISSUER = "https://portal.example.kr"


def qr_line(label: str, text: str) -> str:
    code = segno.make(text, error="m", boost_error=False)
    return (f"{label}: {len(text)} characters, QR version {code.version} "
            f"({code.symbol_size(border=0)[0]} modules a side), error correction {code.error}, "
            f"mode {code.mode}")


def make_real(database_url: str, create_all: bool) -> dict:
    """A credential, a presentation and a server token of one resident's card."""
    from portal import create_app
    from portal.accounts import service as accounts
    from portal.eid import presentation, service, verifier
    from portal.extensions import db

    app = create_app({
        "SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": None,
        "RATELIMIT_STORAGE_URI": "memory://", "PORTAL_BASE_URL": ISSUER, "EID_ISSUER": ISSUER,
        "CELERY": {"task_always_eager": True, "broker_url": "memory://", "result_backend": None},
    })
    with app.app_context():
        if create_all:
            db.create_all()
        else:
            import flask_migrate

            flask_migrate.upgrade()
        user = accounts.create_user(db.session, "resident@bench.kr", None, roles=("resident",),
                                    verified=True, password_hash="x", district="성동구",
                                    birth_date=date(1990, 5, 17))
        db.session.commit()
        service.issue_card(db.session, user)
        device = presentation.Device()
        issued = service.issue_credential(db.session, user, device.jwk())
        text = device.present(issued.credential)
        token, _expires_in = service.card_token(db.session, user)
        keys = verifier.load_jwks(service.jwks(db.session))
        checked = verifier.verify(text, keys, issuer=ISSUER)
        checked_token = verifier.verify(token, keys, issuer=ISSUER)
        parts = presentation.split(text)
        assert parts is not None and parts[0] == issued.credential
        proof_bytes = len(presentation.base45.b45decode(text[len(presentation.PREFIX):])) \
            - 1 - len(issued.credential)
        return {"text": text, "credential": issued.credential, "proof_bytes": proof_bytes,
                "credential_b64": issued.credential_b64, "token": token,
                "checked": checked, "checked_token": checked_token}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--database-url", help="an empty database (default: a new SQLite file)")
    parser.add_argument("--create-all", action="store_true",
                        help="db.create_all() instead of the migrations (as the tests do)")
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", SECRET)

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or "sqlite:///" + str(Path(tmp) / "portal-qr.db")
        real = make_real(url, args.create_all)

    text, credential = real["text"], real["credential"]
    schema = "db.create_all()" if args.create_all else "the migrations (flask db upgrade)"
    print(f"database: {url.split(':', 1)[0]}, schema from {schema}; a verified resident "
          "(district 성동구, born 1990), a card, a credential issued by the service for a Device")
    claims = real["checked"].claims or {}
    print(f"presentation check (verifier.verify, the city's JWKS): {real['checked'].decision} "
          f"({real['checked'].reason}); it says: resident={claims.get('resident')} "
          f"district={claims.get('district')!r} age_over={claims.get('age_over')} "
          f"status_idx={claims.get('status_idx')}")
    print(f"credential: {len(credential)} bytes CBOR/COSE_Sign1 "
          f"(API: {len(real['credential_b64'])} base64url characters)")
    print(f"proof:      {real['proof_bytes']} bytes CBOR/COSE_Sign1")
    print(f"presentation bytes: 1 + {len(credential)} + {real['proof_bytes']} = "
          f"{1 + len(credential) + real['proof_bytes']} bytes")
    print(qr_line("presentation (EID1: + base45)", text) + "   (limit: 600 characters)")
    print(f"    {text}")
    print(f"older server token check: {real['checked_token'].decision} ({real['checked_token'].reason})")
    print(qr_line("older server token (JWS, byte mode)", real["token"]))
    print(f"    {real['token']}")


if __name__ == "__main__":
    main()
