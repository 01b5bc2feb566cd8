"""honest numbers and overdue ends: registration source of mirrored users, measured/unavailable MFA
snapshot rows with the source and the sign-ins whose MFA is unknown, overdue ends on periods

Revision ID: a14c0b5e0b51
Revises: b41e7c0d5a93
Create Date: 2026-12-01 09:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import idops.kit.db


revision: str = 'a14c0b5e0b51'
down_revision: str | None = 'b41e7c0d5a93'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('directory_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('registration_source', sa.String(length=16), nullable=True))
    # Users the report listed were measured by it; the others are set by the next sync (a tenant with the
    # report marks them "report", not registered; one without leaves them unknown until read per user).
    op.execute("UPDATE directory_users SET registration_source = 'report' WHERE report_updated_at IS NOT NULL")

    with op.batch_alter_table('mfa_snapshots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('measured', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('used_known', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('used_unknown', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('source', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('unavailable_reason', sa.String(length=32), nullable=True))
    # Earlier rows counted every user as measured by the report. A row with users but no report row and
    # nobody registered is what a tenant without the report (403 premium) produced: unavailable, not 0 %.
    op.execute(
        "UPDATE mfa_snapshots SET measured = total, source = 'report' "
        "WHERE report_as_of IS NOT NULL OR registered > 0 OR total = 0"
    )
    op.execute(
        "UPDATE mfa_snapshots SET measured = 0, source = NULL, unavailable_reason = 'premium_required' "
        "WHERE report_as_of IS NULL AND registered = 0 AND total > 0"
    )

    with op.batch_alter_table('signin_daily', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unknown_mfa_sign_ins', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('substitute_periods', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overdue_since', idops.kit.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('end_attempted_at', idops.kit.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('end_error', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('substitute_periods', schema=None) as batch_op:
        batch_op.drop_column('end_error')
        batch_op.drop_column('end_attempted_at')
        batch_op.drop_column('overdue_since')

    with op.batch_alter_table('signin_daily', schema=None) as batch_op:
        batch_op.drop_column('unknown_mfa_sign_ins')

    with op.batch_alter_table('mfa_snapshots', schema=None) as batch_op:
        batch_op.drop_column('unavailable_reason')
        batch_op.drop_column('source')
        batch_op.drop_column('used_unknown')
        batch_op.drop_column('used_known')
        batch_op.drop_column('measured')

    with op.batch_alter_table('directory_users', schema=None) as batch_op:
        batch_op.drop_column('registration_source')
