"""tourism: indexes of held bookings, for holds at the speed of PostgreSQL (issue 14)

Partial indexes on the bookings whose status is `held` (a booking leaves them when it leaves
`held`, so they stay as small as the holds in flight):

- (slot_id, hold_expires_at): a slot's holds whose time is up, which every hold, read and
  expiry asks for (before: every held booking of the slot was read and filtered);
- (guest_email, hold_expires_at) and (client_key, hold_expires_at), with the seats on
  PostgreSQL (INCLUDE quantity): the seats an email or a client address holds at once, counted
  by each hold. The second replaces the index on client_key alone (a client key is kept only
  while the booking is held).

Revision ID: c5e1a7d3f914
Revises: b7d2e9f4a613
Create Date: 2026-12-02 08:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c5e1a7d3f914'
down_revision = 'b7d2e9f4a613'
branch_labels = None
depends_on = None

HELD = sa.text("status = 'held'")


def upgrade():
    with op.batch_alter_table('tourism_bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_tourism_bookings_client_key')
        batch_op.create_index('ix_tourism_bookings_held_slot', ['slot_id', 'hold_expires_at'], unique=False,
                              postgresql_where=HELD, sqlite_where=HELD)
        batch_op.create_index('ix_tourism_bookings_held_email', ['guest_email', 'hold_expires_at'], unique=False,
                              postgresql_include=['quantity'], postgresql_where=HELD, sqlite_where=HELD)
        batch_op.create_index('ix_tourism_bookings_held_client', ['client_key', 'hold_expires_at'], unique=False,
                              postgresql_include=['quantity'], postgresql_where=HELD, sqlite_where=HELD)


def downgrade():
    with op.batch_alter_table('tourism_bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_tourism_bookings_held_client')
        batch_op.drop_index('ix_tourism_bookings_held_email')
        batch_op.drop_index('ix_tourism_bookings_held_slot')
        batch_op.create_index('ix_tourism_bookings_client_key', ['client_key'], unique=False)
