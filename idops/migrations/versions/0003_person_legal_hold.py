"""substitute persons: legal hold (suspends scrubbing, refuses erasure until lifted)

Revision ID: 0003_legal_hold
Revises: 0002
Create Date: 2026-12-01 09:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import idops.kit.db


revision: str = '0003_legal_hold'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('substitute_persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_hold_at', idops.kit.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('legal_hold_by', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('legal_hold_reason', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('substitute_persons', schema=None) as batch_op:
        batch_op.drop_column('legal_hold_reason')
        batch_op.drop_column('legal_hold_by')
        batch_op.drop_column('legal_hold_at')
