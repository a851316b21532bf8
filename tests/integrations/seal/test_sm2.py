"""SM2/SM3 signing: the GB/T 32918 example, our signatures against a second implementation, keys at rest."""

from __future__ import annotations

import hashlib

import pytest
from Cryptodome.Util.asn1 import DerInteger, DerSequence
from gmssl.sm2 import CryptSM2
from pysmx.SM2 import Sign as smx_sign
from pysmx.SM2 import Verify as smx_verify

from xietong.integrations.seal import keystore, sm2

# GB/T 32918.2-2016 Annex A.2 (= GM/T 0003.2-2012 A.2): the example over the 256-bit prime field test curve.
EXAMPLE_CURVE = {
    "p": "8542D69E4C044F18E8B92435BF6FF7DE457283915C45517D722EDB8B08F1DFC3",
    "a": "787968B4FA32C3FD2417842E73BBFEFF2F3C848B6831D7E0EC65228B3937E498",
    "b": "63E4C6D3B23B0C849CF84241484BFE48F61D59A5B16BA06E6E12D1DA27C5249A",
    "g": "421DEBD61B62EAB6746434EBC3CC315E32220B3BADD50BDC4C4E6C147FEDD43D"
         "0680512BCBB42C07D47349D2153B70C4E5D7FDFCBFA36EA1A85841B9E46E09A2",
    "n": "8542D69E4C044F18E8B92435BF6FF7DD297720630485628D5AE74EE7C32E79B7",
}
EXAMPLE = {
    "message": b"message digest",
    "id": b"ALICE123@YAHOO.COM",
    "d": "128B2FA8BD433C6C068C8D803DFF79792A519A55171B1B650C23661D15897263",
    "x": "0AE4C7798AA0F119471BEE11825BE46202BB79E2A5844495E97C04FF4DF2548A",
    "y": "7C0240F88F1CD4E16352A73C17B7F16F07353E53A176D684A9FE0C6BB798E857",
    "za": "F4A38489E32B45B6F876E3AC2168CA392362DC8F23459C1D1146FC3DBFB7BC9A",
    "e": "B524F552CD82B8B028476E005C377FB19A87E6FC682D48BB5D42E3D9B9EFFE76",
    "k": "6CB28D99385C175C94F94E934817663FC176D925DD72B727260DBAAE1FB2F96F",
    "r": "40F1EC59F793D9F49E09DCEF49130D4194F79FB1EED2CAA55BACDB49C4E755D1",
    "s": "6FC6DAC32C5D5CF10C77DFB20F7C2EB667A457872FB09EC56327A67EC7DEEBE7",
}


def test_sm3_is_openssls_and_gives_the_standards_example_digest() -> None:
    # GB/T 32905-2016 Annex A.1: SM3("abc")
    assert sm2.sm3(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"


def test_gmssl_reproduces_the_gbt_32918_signature_example() -> None:
    x, y = EXAMPLE["x"], EXAMPLE["y"]
    crypt = CryptSM2(EXAMPLE["d"], "", ecc_table=EXAMPLE_CURVE)
    crypt.public_key = x + y
    assert crypt._kg(int(EXAMPLE["d"], 16), EXAMPLE_CURVE["g"]).upper() == x + y  # P = [d]G
    id_bits = len(EXAMPLE["id"]) * 8
    za = hashlib.new("sm3", id_bits.to_bytes(2, "big") + EXAMPLE["id"] + bytes.fromhex(
        EXAMPLE_CURVE["a"] + EXAMPLE_CURVE["b"] + EXAMPLE_CURVE["g"] + x + y)).hexdigest()
    assert za.upper() == EXAMPLE["za"]
    e = hashlib.new("sm3", bytes.fromhex(za) + EXAMPLE["message"]).hexdigest()
    assert e.upper() == EXAMPLE["e"]
    signature = crypt.sign(bytes.fromhex(e), EXAMPLE["k"])
    assert signature.upper() == EXAMPLE["r"] + EXAMPLE["s"]
    assert crypt.verify(signature, bytes.fromhex(e))
    assert not crypt.verify(EXAMPLE["r"] + EXAMPLE["s"][:-1] + "8", bytes.fromhex(e))


def test_our_signatures_are_der_with_a_fresh_nonce_and_verify_only_for_the_same_data_and_key() -> None:
    private, public = sm2.new_key_pair()
    first, second = sm2.sign(private, public, b"document"), sm2.sign(private, public, b"document")
    assert first != second  # a fresh nonce every time
    r, s = DerSequence().decode(first, strict=True)
    assert 0 < r < sm2.N and 0 < s < sm2.N and first[0] == 0x30
    assert sm2.verify(public, b"document", first) and sm2.verify(public, b"document", second)
    assert not sm2.verify(public, b"documenT", first)
    assert not sm2.verify(sm2.new_key_pair()[1], b"document", first)
    tampered = bytearray(first)
    tampered[-1] ^= 0x01
    assert not sm2.verify(public, b"document", bytes(tampered))
    for junk in (b"", b"\x30\x00", b"not der at all", first + b"\x00"):
        assert not sm2.verify(public, b"document", junk)


def test_a_second_implementation_verifies_ours_and_we_verify_its() -> None:
    """snowland-smx (pysmx), written independently of gmssl, with the same default user ID."""
    private, public = sm2.new_key_pair()
    ours = sm2.sign(private, public, "办结通知书".encode())
    assert smx_verify(sm2.raw_rs(ours), "办结通知书".encode(), public[2:], 64, uid=sm2.DEFAULT_USER_ID)
    assert not smx_verify(sm2.raw_rs(ours), "办结通知书!".encode(), public[2:], 64, uid=sm2.DEFAULT_USER_ID)
    k = f"{0x1234567890ABCDEF:064x}"
    theirs = smx_sign("办结通知书".encode(), private, k, 64, uid=sm2.DEFAULT_USER_ID)
    der = DerSequence([DerInteger(int.from_bytes(theirs[:32], "big")),
                       DerInteger(int.from_bytes(theirs[32:], "big"))]).encode()
    assert sm2.verify(public, "办结通知书".encode(), der)


def test_private_keys_are_kept_sm4_encrypted_and_a_wrong_secret_is_refused() -> None:
    private, public = sm2.new_key_pair()
    stored = keystore.seal_private_key(private, "instance-secret")
    assert stored.startswith("sm4-cbc:v1:") and private not in stored
    assert stored != keystore.seal_private_key(private, "instance-secret")  # a fresh IV each time
    assert keystore.open_private_key(stored, "instance-secret", public) == private
    with pytest.raises(keystore.KeyUnreadable):
        keystore.open_private_key(stored, "another-secret", public)
    with pytest.raises(keystore.KeyUnreadable):
        keystore.open_private_key(stored[:-2] + "00", "instance-secret", public)
