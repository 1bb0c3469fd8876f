"""welfare: officers' follow-ups of notices (issue 16, part 3)

`welfare_follow_up`: a callback (keypress 1), a health-check referral (keypress 3) or a resident
three calls could not reach, one per (notice, kind), open until an officer records its outcome.

Revision ID: c8f3a1d9e274
Revises: b7d2e4f6a813
Create Date: 2026-12-02 12:05:00.000000

"""
import sqlalchemy as sa
from alembic import op

import portal.types

revision = 'c8f3a1d9e274'
down_revision = 'b7d2e4f6a813'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'welfare_follow_up',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('programme_id', sa.Integer(), nullable=False),
        sa.Column('notice_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=True),
        sa.Column('assignee_id', sa.Integer(), nullable=True),
        sa.Column('due_at', portal.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_at', portal.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', portal.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('closed_at', portal.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('callback', 'health_check', 'unreachable')",
                           name=op.f('ck_welfare_follow_up_kind')),
        sa.CheckConstraint("status IN ('open', 'done')", name=op.f('ck_welfare_follow_up_status')),
        sa.CheckConstraint("outcome IS NULL OR outcome IN ('reached', 'applied', 'declined', 'unreachable')",
                           name=op.f('ck_welfare_follow_up_outcome')),
        sa.CheckConstraint("(status = 'open' AND outcome IS NULL AND closed_at IS NULL) OR "
                           "(status = 'done' AND outcome IS NOT NULL AND closed_at IS NOT NULL)",
                           name=op.f('ck_welfare_follow_up_closed_with_outcome')),
        sa.ForeignKeyConstraint(['assignee_id'], ['user.id'],
                                name=op.f('fk_welfare_follow_up_assignee_id_user'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['notice_id'], ['welfare_notice.id'],
                                name=op.f('fk_welfare_follow_up_notice_id_welfare_notice'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['programme_id'], ['welfare_programme.id'],
                                name=op.f('fk_welfare_follow_up_programme_id_welfare_programme'),
                                ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'],
                                name=op.f('fk_welfare_follow_up_user_id_user'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_welfare_follow_up')),
        sa.UniqueConstraint('notice_id', 'kind', name='uq_welfare_follow_up_notice_kind'),
    )
    op.create_index('ix_welfare_follow_up_status_due', 'welfare_follow_up', ['status', 'due_at', 'id'])


def downgrade():
    op.drop_index('ix_welfare_follow_up_status_due', table_name='welfare_follow_up')
    op.drop_table('welfare_follow_up')
