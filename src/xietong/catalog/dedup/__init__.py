"""De-duplicating deployed matters across regions (市县同事项去重): normalise names, group, review, confirm.

``normalise`` turns a raw matter name into comparable keys, ``grouping`` proposes groups with their evidence,
``proposal`` lets an administrator split and merge them and writes the result in one transaction, ``xlsx`` reads
the raw list and writes the proposal for review, ``units`` resolves the implementing units in the directory.
See ``docs/dedup.md``.
"""
