"""directory mirror: is_admin from the registration report (the staff helpdesk refuses admins)

Revision ID: 7c1e5b0a9d24
Revises: a14c0b5e0b51
Create Date: 2026-12-01 18:50:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '7c1e5b0a9d24'
down_revision: str | None = 'a14c0b5e0b51'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('directory_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_admin', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('directory_users', schema=None) as batch_op:
        batch_op.drop_column('is_admin')
