"""drift: orphans attributed to a municipality and kept after they are gone; audit events by action

Revision ID: b41e7c0d5a93
Revises: 0004_web_sessions
Create Date: 2026-12-02 09:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import idops.kit.db


revision: str = 'b41e7c0d5a93'
down_revision: str | None = '0004_web_sessions'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('orphan_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('municipality', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('gone_at', idops.kit.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_action', ['action', 'seq'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_action')
    with op.batch_alter_table('orphan_accounts', schema=None) as batch_op:
        batch_op.drop_column('gone_at')
        batch_op.drop_column('municipality')
