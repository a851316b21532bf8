"""Imports every stand-in so it registers in ``STANDINS`` (one line per outside system)."""
