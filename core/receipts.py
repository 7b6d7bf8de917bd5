"""Signed receipts: a JSON document signed with the deployment's Ed25519 key.

The signature covers the document's canonical form (keys sorted, no spaces, UTF-8), with the
`signature` field left out, so any changed byte of the content fails verification. `key_id`
names the key (the first 16 hex digits of the SHA-256 of its raw public bytes): a receipt
signed by another deployment's key says so instead of merely failing.

The key comes from MEMDASH_RECEIPT_KEY (PEM text) or the file MEMDASH_RECEIPT_KEY_FILE. With
the embedded database and no key configured, one is generated into its data directory the
first time it is needed (`make run` does it at start), so a development checkout just works.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from rest_framework import status

from core.errors import MemdashError

SIGNATURE = "signature"
KEY_ID = "key_id"


class ReceiptKeyMissing(MemdashError):
    """No signing key is configured, so no erasure can end with a receipt."""

    status_code = status.HTTP_501_NOT_IMPLEMENTED


class InvalidReceipt(ValueError):
    """A receipt that does not verify; the message says why."""


def canonical(document: dict[str, Any]) -> bytes:
    """The bytes a signature covers: the document without its signature, keys sorted."""
    unsigned = {k: v for k, v in document.items() if k != SIGNATURE}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable name of a public key."""
    return hashlib.sha256(_raw(public_key)).hexdigest()[:16]


def signing_key() -> Ed25519PrivateKey:
    """The deployment's private key (ReceiptKeyMissing when none is configured)."""
    text = settings.MEMDASH_RECEIPT_KEY
    path = Path(settings.MEMDASH_RECEIPT_KEY_FILE) if settings.MEMDASH_RECEIPT_KEY_FILE else None
    if not text and path is not None:
        if not path.exists() and settings.MEMDASH_RECEIPT_KEY_GENERATE:
            generate_key_file(path)
        if path.exists():
            text = path.read_text()
    if not text:
        raise ReceiptKeyMissing(
            "Erasure receipts are signed with the deployment's Ed25519 key: set "
            "MEMDASH_RECEIPT_KEY (PEM) or MEMDASH_RECEIPT_KEY_FILE."
        )
    key = serialization.load_pem_private_key(text.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ReceiptKeyMissing("MEMDASH_RECEIPT_KEY must be an Ed25519 private key (PEM).")
    return key


def generate_key_file(path: Path) -> None:
    """Write a new private key to `path`, readable by its owner only (an existing one stays)."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two processes generating at once keep the first key, never a mix of both.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)


def public_key() -> Ed25519PublicKey:
    return signing_key().public_key()


def public_key_pem(key: Ed25519PublicKey | None = None) -> str:
    key = key or public_key()
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    """A public key as public_key_pem writes it (what an auditor verifies offline with)."""
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidReceipt("the public key is not an Ed25519 key")
    return key


def sign(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with the signing key's id and the signature over both."""
    key = signing_key()
    signed = {**document, KEY_ID: key_id(key.public_key())}
    signature = key.sign(canonical(signed))
    return {**signed, SIGNATURE: base64.b64encode(signature).decode()}


def verify(receipt: Any, key: Ed25519PublicKey | None = None) -> None:
    """Raise InvalidReceipt, saying why, unless `receipt` is signed by `key` (by default the
    deployment's own) and unchanged since."""
    if not isinstance(receipt, dict):
        raise InvalidReceipt("a receipt is a JSON object")
    signature = receipt.get(SIGNATURE)
    if not isinstance(signature, str):
        raise InvalidReceipt("the receipt has no signature")
    key = key or public_key()
    expected = key_id(key)
    if receipt.get(KEY_ID) != expected:
        raise InvalidReceipt(
            f"the receipt was signed by key {str(receipt.get(KEY_ID))[:40]!r}, "
            f"not by this deployment's key {expected!r}"
        )
    try:
        key.verify(base64.b64decode(signature, validate=True), canonical(receipt))
    except (InvalidSignature, ValueError) as exc:
        raise InvalidReceipt(
            "the signature does not match the receipt's content: it was changed after signing"
        ) from exc
