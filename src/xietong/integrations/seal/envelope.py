"""The electronic signature structure after GB/T 38540 and how it travels inside a sealed PDF.

GB/T 38540 defines ``SES_Signature ::= SEQUENCE { toSign TBS_Sign, cert, signatureAlgID, signature }`` with
``TBS_Sign`` holding the seal (``SES_Seal``: its ID, property — type, name, the holder's certificate — and
picture), the time of signing, the hash of the signed data and property information. We keep the same parts,
named the same way, as canonical JSON rather than DER-encoded ASN.1 (no ASN.1 toolkit of the standard's
modules ships for Python; the field mapping is in ``docs/seal.md``):

* ``toSign``: ``version``, ``eseal`` (``esID``, ``property`` {``type``, ``name``, ``holder``, ``cert``},
  ``picture`` {``type``, ``data`` base64, ``width``, ``height`` in mm}), ``timeInfo`` (UTC, ISO 8601),
  ``dataHash`` (SM3 of the signed bytes, hex), ``byteRange`` (the signed bytes of the file), ``propertyInfo``
  (the document's number and title), ``signer`` (who had it sealed), ``provider`` (local or provincial);
* ``cert``: the signer's SM2 public key; ``signatureAlgID``: SM3WithSM2; ``signature``: the DER SM2
  signature over the canonical JSON of ``toSign``, base64.

The sealed file is the PDF followed by one incremental update (ISO 32000 §7.5.6) that adds a single
unreferenced object ``<< /Type /XTSeal /Contents <hex of the JSON> >>``: any PDF reader still opens it, and
the bytes it signs are exactly the PDF before that update (``byteRange``). Verification rebuilds the update
from the signature found and requires the file to end with exactly it, so nothing can be appended unseen.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any

from xietong.integrations.seal import sm2

VERSION = 4
_MARK = b"/Type /XTSeal /Contents <"
_TRAILER = re.compile(rb"trailer\s*<<(?P<body>.*?)>>\s*startxref\s*(?P<xref>\d+)\s*%%EOF\s*$", re.S)


def canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def to_sign(*, seal: dict[str, Any], time_info: str, data: bytes, property_info: dict[str, Any],
            signer: dict[str, Any], provider: str) -> dict[str, Any]:
    return {
        "version": VERSION, "eseal": seal, "timeInfo": time_info, "dataHash": sm2.sm3(data),
        "byteRange": [0, len(data)], "propertyInfo": property_info, "signer": signer, "provider": provider,
    }


def signature_of(tbs: dict[str, Any], private: str, public: str) -> dict[str, Any]:
    return {"toSign": tbs, "cert": public, "signatureAlgID": sm2.SIGNATURE_ALGORITHM,
            "signature": base64.b64encode(sm2.sign(private, public, canonical(tbs))).decode()}


def _update(pdf: bytes, signature: dict[str, Any]) -> bytes:
    trailer = _TRAILER.search(pdf[-4096:])
    if trailer is None:
        raise ValueError("不是可签章的 PDF：找不到文件尾")
    body = trailer["body"]
    size = int(re.search(rb"/Size\s+(\d+)", body)[1])  # type: ignore[index]
    refs = b"".join(m[0] + b" " for m in re.finditer(rb"/(?:Root|Info)\s+\d+\s+\d+\s+R", body))
    obj = b"%d 0 obj\n<< %s%s> >>\nendobj\n" % (size, _MARK, canonical(signature).hex().encode())
    start = len(pdf) + 1
    xref = start + len(obj)
    return (b"\n" + obj + b"xref\n%d 1\n%010d 00000 n \ntrailer\n<< /Size %d %s/Prev %s >>\nstartxref\n%d\n%%%%EOF\n"
            % (size, start, size + 1, refs, trailer["xref"], xref))


def embed(pdf: bytes, signature: dict[str, Any]) -> bytes:
    """The sealed file: ``pdf`` and the update carrying ``signature`` (whose byteRange must cover ``pdf``)."""
    if signature["toSign"]["byteRange"] != [0, len(pdf)]:
        raise ValueError("签名的字节范围与文件不符")
    return pdf + _update(pdf, signature)


@dataclass
class Verification:
    """What checking a sealed file found; ``problems`` in Chinese, empty when it is intact."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    signature: dict[str, Any] | None = None

    @property
    def summary(self) -> dict[str, Any]:
        tbs = (self.signature or {}).get("toSign", {})
        return {
            "ok": self.ok, "problems": self.problems, "seal": tbs.get("eseal", {}).get("property", {}).get("name"),
            "es_id": tbs.get("eseal", {}).get("esID"), "signer": tbs.get("signer"), "time": tbs.get("timeInfo"),
            "data_hash": tbs.get("dataHash"), "provider": tbs.get("provider"),
            "document": tbs.get("propertyInfo"),
        }


def extract(sealed: bytes) -> tuple[bytes, dict[str, Any]] | None:
    """The signed bytes and the signature of a sealed file, or None when it carries no (readable) seal."""
    at = sealed.rfind(_MARK)
    if at < 0:
        return None
    end = sealed.find(b">", at + len(_MARK))
    try:
        signature = json.loads(bytes.fromhex(sealed[at + len(_MARK):end].decode("ascii")))
        start, length = signature["toSign"]["byteRange"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    if not isinstance(start, int) or not isinstance(length, int) or start != 0 or not 0 < length <= at:
        return None
    return sealed[:length], signature


def verify_signature(signature: dict[str, Any], data: bytes) -> list[str]:
    """Problems with ``signature`` over ``data`` (empty: it verifies)."""
    problems = []
    try:
        tbs, cert = signature["toSign"], signature["cert"]
        der = base64.b64decode(signature["signature"], validate=True)
    except (KeyError, TypeError, ValueError):
        return ["签名结构不完整"]
    if signature.get("signatureAlgID") != sm2.SIGNATURE_ALGORITHM:
        problems.append("签名算法不是 SM3WithSM2")
    if tbs.get("dataHash") != sm2.sm3(data):
        problems.append("文件内容与签名时的 SM3 摘要不符：文件已被改动")
    if tbs.get("eseal", {}).get("property", {}).get("cert") != cert:
        problems.append("签名证书与印章所载证书不符")
    if not sm2.verify(cert, canonical(tbs), der):
        problems.append("SM2 签名验证失败：签名或签名信息已被改动")
    return problems


def verify_file(sealed: bytes) -> Verification:
    """Check a sealed PDF: it carries a seal, its bytes match the digest, the SM2 signature verifies, and
    nothing was appended after the seal."""
    found = extract(sealed)
    if found is None:
        return Verification(False, ["文件中没有可读的电子签章"])
    data, signature = found
    problems = verify_signature(signature, data)
    if not problems and sealed != data + _update(data, signature):
        problems.append("签章之后文件又被追加或改动了内容")
    return Verification(not problems, problems, signature)
