"""web sessions and one-shot tokens (page sessions held by the server)

Revision ID: 0004_web_sessions
Revises: 0003_legal_hold
Create Date: 2026-12-01 17:43:58.176882
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import idops.kit.db


revision: str = '0004_web_sessions'
down_revision: str | None = '0003_legal_hold'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('web_one_shot_tokens',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('issued_at', idops.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_web_one_shot_tokens'))
    )
    with op.batch_alter_table('web_one_shot_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_web_one_shot_tokens_session', ['session_id', 'purpose', 'issued_at'], unique=False)

    op.create_table('web_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('oid', sa.String(length=36), nullable=True),
    sa.Column('tid', sa.String(length=36), nullable=True),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('groups', sa.JSON(), nullable=False),
    sa.Column('name', sa.String(length=256), nullable=True),
    sa.Column('created_at', idops.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', idops.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', idops.kit.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions'))
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_web_sessions_last_seen', ['last_seen_at'], unique=False)
        batch_op.create_index('ix_web_sessions_user', ['tid', 'oid'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_web_sessions_user')
        batch_op.drop_index('ix_web_sessions_last_seen')

    op.drop_table('web_sessions')
    with op.batch_alter_table('web_one_shot_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_web_one_shot_tokens_session')

    op.drop_table('web_one_shot_tokens')
