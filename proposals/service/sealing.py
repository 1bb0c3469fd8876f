"""The inner envelope of a ballot: a vote's key pair, sealing a choice, opening it at the count.

- A vote's key pair (X25519, libsodium) is made when a proposal is put to a vote. The public
  half seals ballots; the private half is stored Fernet-encrypted under
  ``PROPOSAL_BALLOT_KEY_ENCRYPTION_KEY`` (a Fernet key, or any secret, stretched with HKDF),
  else ``SECRET_KEY`` (then ``SECRET_KEY_FALLBACKS`` still open keys sealed before a rotation).
  The HKDF salt is this service's own, so the same ``SECRET_KEY`` gives another key than the
  e-ID signing keys' or the notify outbox's.
- A ballot is the choice padded to one length and sealed (``nacl.public.SealedBox``: a fresh
  ephemeral key pair per ballot), so two ballots for the same choice differ and every sealed
  ballot has ``limits.SEALED_BALLOT_LENGTH`` bytes. Its receipt is the SHA-256 of those bytes.
"""

from __future__ import annotations

import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from portal.crypto import fernet_from_secret

from .. import settings
from ..limits import BALLOT_PLAINTEXT_LENGTH
from ..vocabulary import CHOICES


class BallotKeyError(RuntimeError):
    """A vote's private key cannot be decrypted with the configured secret, or a sealed ballot
    does not open with it. Nothing is counted."""


def _fernet(secret: str | bytes) -> Fernet:
    return fernet_from_secret(secret, salt=b"portal.proposals", info=b"ballot-key-encryption")


def key_fernet(config=None) -> MultiFernet:
    """Encrypts with the configured secret; also decrypts with SECRET_KEY's fallbacks when the
    secret is SECRET_KEY."""
    config = current_app.config if config is None else config
    explicit = settings.BALLOT_KEY_ENCRYPTION_KEY.get(config)
    secrets = [explicit] if explicit else [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or ())]
    return MultiFernet([_fernet(s) for s in secrets])


def new_key_pair() -> tuple[bytes, bytes]:
    """(public key, private key encrypted at rest) of a new vote."""
    private = PrivateKey.generate()
    return bytes(private.public_key), key_fernet().encrypt(bytes(private))


def open_private_key(encrypted: bytes | None) -> PrivateKey:
    if not encrypted:
        raise BallotKeyError("the vote's private key is gone (erased after an earlier count?)")
    try:
        return PrivateKey(key_fernet().decrypt(encrypted))
    except InvalidToken:
        raise BallotKeyError("cannot decrypt a vote's private key: "
                             "wrong PROPOSAL_BALLOT_KEY_ENCRYPTION_KEY or SECRET_KEY?") from None


def seal(public_key: bytes, choice: str) -> bytes:
    """The choice, padded to one length, sealed with the vote's public key."""
    plain = choice.encode().ljust(BALLOT_PLAINTEXT_LENGTH, b"\0")
    if choice not in CHOICES or len(plain) != BALLOT_PLAINTEXT_LENGTH:
        raise ValueError("not a choice")
    # SEALED_BALLOT_LENGTH bytes whatever the choice; the table's CHECK refuses any other length.
    return SealedBox(PublicKey(public_key)).encrypt(plain)


def unseal(private_key: PrivateKey, sealed: bytes) -> str:
    """The choice inside a sealed ballot; BallotKeyError if it does not open or holds no choice."""
    try:
        choice = SealedBox(private_key).decrypt(bytes(sealed)).rstrip(b"\0").decode()
    except (CryptoError, UnicodeDecodeError):
        raise BallotKeyError("a sealed ballot does not open with the vote's key") from None
    if choice not in CHOICES:
        raise BallotKeyError("a sealed ballot holds no known choice")
    return choice


def receipt_of(sealed: bytes) -> str:
    return hashlib.sha256(bytes(sealed)).hexdigest()
