"""The OA exchange (公文交换): an incoming OA document can start a case of a chosen matter, and the case's result
(or the refusal to take the document up) goes back to the OA as a document. Outbound exchanges wait on the ``oa``
channel while the OA is unreachable — for months if need be — and the health report shows the backlog.
``docs/oa.md``."""
