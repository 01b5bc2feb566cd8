"""single-login reports: names_scrubbed_at (names of persons with several accounts scrubbed after retention)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 01:40:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import idops.kit.db


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('single_login_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('names_scrubbed_at', idops.kit.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('single_login_reports', schema=None) as batch_op:
        batch_op.drop_column('names_scrubbed_at')
