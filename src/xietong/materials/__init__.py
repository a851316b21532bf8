"""共享材料库 (减材料): units' standing documents with versions and validity, and the reuse of earlier results."""
