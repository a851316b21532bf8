"""Imports every domain's tables so the metadata (and Alembic) sees the whole schema."""

from xietong.cases import models as cases_models
from xietong.catalog import models as catalog_models
from xietong.dataservice import models as dataservice_models
from xietong.db.base import Base
from xietong.directory import models as directory_models
from xietong.documents import models as documents_models
from xietong.engine import models as engine_models
from xietong.integrations import models as integrations_models
from xietong.integrations.archive import models as archive_models
from xietong.integrations.messaging import models as messaging_models
from xietong.integrations.oa import models as oa_models
from xietong.integrations.seal import models as seal_models
from xietong.materials import models as materials_models
from xietong.monitor import models as monitor_models
from xietong.oversight import models as oversight_models
from xietong.security import models as security_models
from xietong.system import models as system_models
from xietong.worker import models as worker_models

__all__ = [
    "Base",
    "archive_models",
    "cases_models",
    "catalog_models",
    "dataservice_models",
    "directory_models",
    "documents_models",
    "engine_models",
    "integrations_models",
    "materials_models",
    "messaging_models",
    "monitor_models",
    "oa_models",
    "oversight_models",
    "seal_models",
    "security_models",
    "system_models",
    "worker_models",
]
