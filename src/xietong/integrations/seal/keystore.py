"""Private keys at rest: SM4-CBC under a key derived from the instance secret (HMAC-SM3), never in clear.

The stored form is ``sm4-cbc:v1:<iv>:<ciphertext>`` (hex; a fresh random IV per key; PKCS#7 padding). With
``XIETONG_SECRET_KEY`` set — as production must — the key-encryption key lives outside the database, so a
copy of the database alone does not give the seals away. Decryption checks the key against the stored public
key, so a wrong instance secret is reported rather than signing with garbage. Private keys are only ever used
in this process: no API returns them and the provincial adapter never sends them.
"""

from __future__ import annotations

import hmac
import secrets

from gmssl.sm4 import SM4_DECRYPT, SM4_ENCRYPT, CryptSM4

from xietong.integrations.seal import sm2

PREFIX = "sm4-cbc:v1"


class KeyUnreadable(Exception):
    """The stored key does not decrypt under this instance's secret (or has been altered)."""


def _kek(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"xietong/seal-private-key/v1", "sm3").digest()[:16]


def seal_private_key(private: str, secret: str) -> str:
    iv = secrets.token_bytes(16)
    crypt = CryptSM4()
    crypt.set_key(_kek(secret), SM4_ENCRYPT)
    return f"{PREFIX}:{iv.hex()}:{crypt.crypt_cbc(iv, bytes.fromhex(private)).hex()}"


def open_private_key(stored: str, secret: str, public: str) -> str:
    try:
        prefix, version, iv, body = stored.split(":")
        if f"{prefix}:{version}" != PREFIX:
            raise ValueError(prefix)
        crypt = CryptSM4()
        crypt.set_key(_kek(secret), SM4_DECRYPT)
        private = crypt.crypt_cbc(bytes.fromhex(iv), bytes.fromhex(body)).hex()
    except (ValueError, IndexError) as exc:
        raise KeyUnreadable("印章私钥无法解密") from exc
    if len(private) != 64 or sm2.public_key_of(private) != public:
        raise KeyUnreadable("印章私钥与公钥不符：实例密钥已更换或私钥被改动")
    return private
