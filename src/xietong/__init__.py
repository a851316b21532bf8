"""xietong 协同 — collaborative affairs between government departments."""

__version__ = "0.1.0"
