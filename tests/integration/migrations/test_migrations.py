"""The migrations build exactly the schema the models describe (no model without a migration)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

import idops.models  # noqa: F401
from idops.kit.db import Base
from idops.migrations import head_revision


def test_migrated_database_matches_the_models(database_url: str) -> None:
    engine = create_engine(database_url.replace("+aiosqlite", ""))
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        assert context.get_current_revision() == head_revision()
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == [], "models and migrations differ; regenerate the migration"
