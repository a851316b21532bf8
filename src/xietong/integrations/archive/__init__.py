"""电子档案: an archived case's archive information package, its 四性检测 (DA/T 70), and its transfer to the
e-archive system with a receipt.

``package`` builds the ZIP (metadata XML, documents, opinions, event log, SM3 manifest, signature);
``check`` runs the four checks on any package file; ``service`` is the change-log follower that builds,
checks and queues a package; ``client`` is the archive system's channel.
"""
