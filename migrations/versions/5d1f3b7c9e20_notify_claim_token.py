"""notify: a claim token per notice being sent

`notify_message.claim` holds the random token of the delivery claim that is sending the notice
(NULL otherwise): each step of a delivery is a conditional UPDATE on it, so a worker whose claim
the sweep took back sends nothing more (portal.notify.service.claims). Rows `sending` when this
runs have no token: their worker's next step no longer matches, and the sweep re-queues them.

Revision ID: 5d1f3b7c9e20
Revises: a0ac8da0b8a7
Create Date: 2026-12-02 03:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '5d1f3b7c9e20'
down_revision = 'a0ac8da0b8a7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notify_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('notify_message', schema=None) as batch_op:
        batch_op.drop_column('claim')
