"""Imports every domain's models so that ``metadata`` knows all tables (Alembic, tests)."""

from mercato.accounts import models as accounts_models
from mercato.catalog import models as catalog_models
from mercato.kit.db import Base

metadata = Base.metadata

__all__ = ["accounts_models", "catalog_models", "metadata"]
