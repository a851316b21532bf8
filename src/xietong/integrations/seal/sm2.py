"""SM2 signatures over SM3 (GB/T 32918.2, GB/T 32905): key pairs, signing, verification, DER encoding.

gmssl does the curve arithmetic and its ``sign_with_sm3`` computes e = SM3(Z_A ‖ M) with the standard's default
user ID ``1234567812345678``; we give it a fresh nonce from ``secrets`` for every signature (gmssl's own
default nonce comes from ``random``, which is not a cryptographic generator) and ask for DER signatures
(``SEQUENCE { r INTEGER, s INTEGER }``, GB/T 35276). Keys are hex: the private key 32 bytes, the public key the
uncompressed point ``04 ‖ x ‖ y``.
"""

from __future__ import annotations

import hashlib
import secrets

from Cryptodome.Util.asn1 import DerSequence
from gmssl.sm2 import CryptSM2, default_ecc_table

DEFAULT_USER_ID = b"1234567812345678"
SIGNATURE_ALGORITHM = "1.2.156.10197.1.501"  # SM3WithSM2 (GM/T 0006)
N = int(default_ecc_table["n"], 16)


def sm3(data: bytes) -> str:
    """The SM3 digest of ``data`` as hex (OpenSSL's, through hashlib — as for the event chain)."""
    return hashlib.new("sm3", data).hexdigest()


def _nonce() -> str:
    return f"{secrets.randbelow(N - 1) + 1:064x}"


def new_key_pair() -> tuple[str, str]:
    """A fresh (private, public) key pair; the private key from ``secrets`` in [1, n-2]."""
    private = f"{secrets.randbelow(N - 2) + 1:064x}"
    return private, public_key_of(private)


def public_key_of(private: str) -> str:
    point = CryptSM2(private, "")._kg(int(private, 16), default_ecc_table["g"])
    return "04" + point


def _crypt(private: str, public: str) -> CryptSM2:
    crypt = CryptSM2(private, "", asn1=True)
    # set after construction: gmssl's constructor strips the 04 prefix with lstrip("04"), which also eats an
    # x coordinate's own leading 0s and 4s
    crypt.public_key = public[2:]
    return crypt


def sign(private: str, public: str, data: bytes) -> bytes:
    """The DER-encoded SM2 signature of ``data`` (SM3 with the default user ID), with a fresh nonce."""
    signer = _crypt(private, public)
    while True:  # gmssl returns None for the rare nonce that gives r = 0, r + k = n or s = 0
        signature = signer.sign_with_sm3(data, _nonce())
        if signature is not None:
            return bytes.fromhex(signature)


def verify(public: str, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` (DER) is the SM2 signature of ``data`` by ``public``; never raises on junk."""
    try:
        r, s = DerSequence().decode(signature, strict=True)
        if not (0 < r < N and 0 < s < N) or len(public) != 130 or not public.startswith("04"):
            return False
        return bool(_crypt("", public).verify_with_sm3(signature.hex(), data))
    except (ValueError, TypeError, IndexError, AttributeError):
        return False


def raw_rs(signature: bytes) -> bytes:
    """``r ‖ s`` (32 bytes each) of a DER signature — the form other SM2 libraries take."""
    r, s = DerSequence().decode(signature, strict=True)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")
