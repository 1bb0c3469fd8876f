"""notify: sealed parts of a notice's context (encrypted; erased once delivered or failed for good)

Revision ID: 3c5e9a1d7b42
Revises: f99dd0d4de76
Create Date: 2026-12-02 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import portal.types


# revision identifiers, used by Alembic.
revision = '3c5e9a1d7b42'
down_revision = 'f99dd0d4de76'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notify_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('sealed_purged_at', portal.types.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('notify_message', schema=None) as batch_op:
        batch_op.drop_column('sealed_purged_at')
        batch_op.drop_column('sealed')
