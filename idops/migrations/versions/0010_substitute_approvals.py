"""substitute periods: awaiting_approval (status widened), approval_limits, decision_reason, and when
the approvers and the requester were notified

Revision ID: 3d8f2a6c1b57
Revises: 7c1e5b0a9d24
Create Date: 2026-12-01 19:10:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '3d8f2a6c1b57'
down_revision: str | None = '7c1e5b0a9d24'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('substitute_periods', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=16), type_=sa.String(length=24),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('approval_limits', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('decision_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('approvers_notified_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('decision_notified_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('substitute_periods', schema=None) as batch_op:
        batch_op.drop_column('decision_notified_at')
        batch_op.drop_column('approvers_notified_at')
        batch_op.drop_column('decision_reason')
        batch_op.drop_column('approval_limits')
        batch_op.alter_column('status', existing_type=sa.String(length=24), type_=sa.String(length=16),
                              existing_nullable=False)
