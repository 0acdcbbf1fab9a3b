"""The Ed25519 keys that seal signed consents: where they come from, and their ids.

Why keys live outside the database: a fingerprint (SHA-256) stored beside the
record it protects proves nothing against someone who can edit the database, as
they can recompute it. A signature made with a private key the database never
holds can not be recomputed that way.

- The private key comes from the environment: `CONSENT_SIGNING_KEY` (a PEM) or
  `CONSENT_SIGNING_KEY_FILE` (a path to one), read once in clinic.settings. With
  DEBUG on and neither set, a key is generated under var/ on first use.
- Old public keys stay trusted after a rotation through
  `CONSENT_RETIRED_PUBLIC_KEY_FILES`, a list of public-key PEM files. They too
  live outside the database on purpose: a table of trusted keys would let anyone
  who can write to it add a key of their own and seal a forged consent with it.
  Rotating: move the current key's public half into that list, set the new
  private key, restart. Consents keep the id of the key that sealed them.

A key's id is the first 16 hex digits of the SHA-256 of its raw public key.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.exceptions import ImproperlyConfigured

KEY_ID_LENGTH = 16


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return sha256(raw).hexdigest()[:KEY_ID_LENGTH]


def private_key_from_pem(pem: str, *, source: str) -> Ed25519PrivateKey:
    """The Ed25519 private key in `pem`; ImproperlyConfigured with one clear line otherwise."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured(
            f"{source} is not a readable, unencrypted PEM private key ({error})."
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{source} must be an Ed25519 private key.")
    return key


def public_key_from_pem(pem: str, *, source: str) -> Ed25519PublicKey:
    """The Ed25519 public key in `pem`; ImproperlyConfigured with one clear line otherwise."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured(
            f"{source} is not a readable PEM public key ({error})."
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise ImproperlyConfigured(f"{source} must be an Ed25519 public key.")
    return key


def read_key_file(path: str, *, source: str) -> str:
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise ImproperlyConfigured(f"{source}: cannot read {path} ({error}).") from None


def private_key_pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def new_private_key_pem() -> str:
    return private_key_pem(Ed25519PrivateKey.generate())


def development_key(path: Path) -> str:
    """The development key at `path`, made on first use (only ever with DEBUG on).

    Written to a temporary file and linked into place, so processes starting at
    once (test workers, autoreload) all end up reading the same, complete key.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".consent-key-")
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(new_private_key_pem())
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            os.unlink(temporary)
    return path.read_text()


@dataclass(frozen=True)
class SigningKeys:
    """The key that seals new consents and every public key consents are checked against."""

    signing_key: Ed25519PrivateKey
    public_keys: dict[str, Ed25519PublicKey]

    @property
    def signing_key_id(self) -> str:
        return key_id(self.signing_key.public_key())

    def sign(self, message: bytes) -> str:
        return self.signing_key.sign(message).hex()

    def holds(self, *, message: bytes, signature: str, signed_with: str) -> bool | None:
        """Whether `signature` (hex) is valid for `message`; None if the key is not known."""
        public_key = self.public_keys.get(signed_with)
        if public_key is None:
            return None
        try:
            public_key.verify(bytes.fromhex(signature), message)
        except (InvalidSignature, ValueError):
            return False
        return True


def load_signing_keys(*, signing_key_pem: str, retired_public_key_pems: list[str]) -> SigningKeys:
    """The signing key and the trusted public keys (its own and every retired one)."""
    signing_key = private_key_from_pem(signing_key_pem, source="CONSENT_SIGNING_KEY")
    public_keys = {key_id(signing_key.public_key()): signing_key.public_key()}
    for number, pem in enumerate(retired_public_key_pems, 1):
        public_key = public_key_from_pem(
            pem, source=f"CONSENT_RETIRED_PUBLIC_KEY_FILES (file {number})"
        )
        public_keys[key_id(public_key)] = public_key
    return SigningKeys(signing_key=signing_key, public_keys=public_keys)


def configured_signing_keys() -> SigningKeys:
    """The keys as settings name them (the development key made on first use if none is)."""
    # Imported here: clinic.settings itself imports this module.
    from django.conf import settings

    pem: str = settings.CONSENT_SIGNING_KEY
    if not pem:
        pem = development_key(Path(settings.CONSENT_DEVELOPMENT_KEY_FILE))
    return load_signing_keys(
        signing_key_pem=pem, retired_public_key_pems=list(settings.CONSENT_RETIRED_PUBLIC_KEYS)
    )


if __name__ == "__main__":
    # `python -m clinic.signing_keys` prints a new private key (PEM);
    # `python -m clinic.signing_keys --public < key.pem` prints its public half for
    # CONSENT_RETIRED_PUBLIC_KEY_FILES when the key is rotated.
    import sys

    if sys.argv[1:] == ["--public"]:
        key = private_key_from_pem(sys.stdin.read(), source="standard input")
        sys.stdout.write(public_key_pem(key.public_key()))
    else:
        sys.stdout.write(new_private_key_pem())
