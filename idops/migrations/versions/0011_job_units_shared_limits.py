"""job runs split into units; the Graph budget and API rate limits shared by a deployment's processes

Revision ID: b5e17a3c9d42
Revises: 3d8f2a6c1b57
Create Date: 2026-12-01 17:42:29.287844
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import idops.kit.db


revision: str = 'b5e17a3c9d42'
down_revision: str | None = '3d8f2a6c1b57'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('graph_budgets',
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('cls', sa.String(length=16), nullable=False),
    sa.Column('level', sa.Float(), nullable=False),
    sa.Column('stamp', sa.Float(), nullable=False),
    sa.Column('blocked_until', sa.Float(), nullable=False),
    sa.Column('recent', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'cls', name=op.f('pk_graph_budgets'))
    )
    op.create_table('rate_limits',
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('who', sa.String(length=200), nullable=False),
    sa.Column('hits', sa.JSON(), nullable=False),
    sa.Column('updated_at', idops.kit.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('action', 'who', name=op.f('pk_rate_limits'))
    )
    op.create_table('job_units',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.String(length=36), nullable=True),
    sa.Column('municipalities', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=True),
    sa.Column('next_attempt_at', idops.kit.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started_at', idops.kit.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', idops.kit.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['job_runs.id'], name=op.f('fk_job_units_run_id_job_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_units'))
    )
    with op.batch_alter_table('job_units', schema=None) as batch_op:
        batch_op.create_index('ix_job_units_run', ['run_id'], unique=False)
        batch_op.create_index('ix_job_units_status', ['status'], unique=False)

    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('municipalities', sa.JSON(), nullable=True))
        batch_op.create_index('ix_job_runs_outcome', ['outcome'], unique=False)

    # A run recorded as running before units existed has none and never will: its process is gone
    # (upgrades run before the service starts).
    op.execute(
        "UPDATE job_runs SET outcome = 'abandoned', error = 'the process running it stopped (upgrade)' "
        "WHERE outcome = 'running'"
    )



def downgrade() -> None:
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_job_runs_outcome')
        batch_op.drop_column('municipalities')

    with op.batch_alter_table('job_units', schema=None) as batch_op:
        batch_op.drop_index('ix_job_units_status')
        batch_op.drop_index('ix_job_units_run')

    op.drop_table('job_units')
    op.drop_table('rate_limits')
    op.drop_table('graph_budgets')
