# ruff: noqa: E402  (the imports below need sys.path set first)
"""E-seal and e-archive benchmark: SM2 signatures and verifications per second (gmssl, pure Python), sealing
one result document (PDF + stamp + sign + embed), verifying a sealed file, and the 四性检测 of a package.

No database: the figures are the CPU cost per item, which is what the worker pays per concluded or archived case.

    python bench/seal.py            # a few seconds
    python bench/seal.py -n 50
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and bench/http.py would hide the standard ``http``.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xietong.documents.kinds import KINDS
from xietong.documents.pdf import approval_sheet_pdf, document_pdf
from xietong.integrations.archive.check import four_checks
from xietong.integrations.archive.package import Item, manifest_xml, zip_package
from xietong.integrations.seal import envelope, sm2
from xietong.integrations.seal.image import seal_png


def timed(n: int, work) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return times


def report(name: str, times: list[float]) -> None:
    print(f"{name:<38} {1 / statistics.mean(times):8.1f}/s   median {statistics.median(times) * 1000:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=20)
    n = parser.parse_args().n
    private, public = sm2.new_key_pair()
    signature = sm2.sign(private, public, b"x" * 10_000)
    report("SM2 sign (10 kB)", timed(n, lambda: sm2.sign(private, public, b"x" * 10_000)))
    report("SM2 verify (10 kB)", timed(n, lambda: sm2.verify(public, b"x" * 10_000, signature)))
    image = seal_png()
    body = KINDS["conclusion_notice"].default
    seal = {"esID": "ES1", "property": {"type": 1, "name": "章", "cert": public},
            "picture": {"type": "png", "data": "", "width": 40, "height": 40}}

    def seal_one() -> bytes:
        pdf = document_pdf("办结通知书", body, seal_png=image)
        tbs = envelope.to_sign(seal=seal, time_info="2026-12-02T00:00:00+00:00", data=pdf, property_info={},
                               signer={}, provider="local")
        return envelope.embed(pdf, envelope.signature_of(tbs, private, public))

    sealed = seal_one()
    report("seal a result document (PDF+sign)", timed(n, seal_one))
    report("verify a sealed file", timed(n, lambda: envelope.verify_file(sealed)))
    sheet = approval_sheet_pdf([("办件编号", "XT1")], [("审核", "单位", "张三", "2026-12-02", "同意")] * 10)
    items = [Item("metadata.xml", "元数据", b'<?xml version="1.0"?><a/>'), Item("documents/01.pdf", "文书", sealed),
             Item("documents/approval-sheet.pdf", "审批单", sheet), Item("events.json", "事件日志", b"[]")]
    manifest = manifest_xml("X001-XT-1", items)
    tbs = envelope.to_sign(seal=seal, time_info="t", data=manifest, property_info={}, signer={}, provider="local")
    package = zip_package([*((i.path, i.data) for i in items), ("manifest.xml", manifest),
                           ("manifest.sig.json", envelope.canonical(envelope.signature_of(tbs, private, public)))])
    report(f"四性检测 of a package ({len(package) // 1024} kB)", timed(max(n // 2, 3), lambda: four_checks(package)))


if __name__ == "__main__":
    main()
