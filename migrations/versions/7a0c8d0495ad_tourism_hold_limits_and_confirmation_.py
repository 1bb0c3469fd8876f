"""tourism: hold limits per email and client address; whether the confirmation mail was sent

`tourism_bookings.client_key` is the HMAC of the client address of a hold (never the address in
clear), kept only while the booking is held, so that seats held at once can be counted per
address. `confirmation_sent` says whether the confirmation mail was queued (a guest's address
gets a limited number of mails); bookings confirmed before this revision had theirs sent.

Revision ID: 7a0c8d0495ad
Revises: df3f01abb433
Create Date: 2026-12-02 01:52:31.112854

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7a0c8d0495ad'
down_revision = 'df3f01abb433'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tourism_bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('confirmation_sent', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(batch_op.f('ix_tourism_bookings_client_key'), ['client_key'], unique=False)
    op.execute("UPDATE tourism_bookings SET confirmation_sent = true WHERE confirmed_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table('tourism_bookings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tourism_bookings_client_key'))
        batch_op.drop_column('confirmation_sent')
        batch_op.drop_column('client_key')
