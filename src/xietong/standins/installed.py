"""Imports every stand-in so it registers in ``STANDINS`` (one line per outside system)."""
from xietong.standins import messaging as _messaging  # noqa: F401
