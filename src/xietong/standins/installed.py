"""Imports every stand-in so it registers in ``STANDINS`` (one line per outside system)."""

from xietong.standins import archive as _archive  # noqa: F401
from xietong.standins import eseal as _eseal  # noqa: F401
from xietong.standins import messaging as _messaging  # noqa: F401
from xietong.standins import oa as _oa  # noqa: F401
from xietong.standins import oidc as _oidc  # noqa: F401
from xietong.standins import province as _province  # noqa: F401
