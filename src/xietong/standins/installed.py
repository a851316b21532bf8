"""Imports every stand-in so it registers in ``STANDINS`` (one line per outside system)."""
from xietong.standins import province  # noqa: F401
