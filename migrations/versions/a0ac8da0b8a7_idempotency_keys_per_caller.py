"""idempotency keys per caller, bound to the request (portal.idempotency)

`idempotency_key` holds each Idempotency-Key a caller sent (scope: the user, or "guest"), the
fingerprint of its request and, once there is one, the first success to replay; unique per
(scope, key). Bookings now record the token of their request's claim ("idem:<id>") instead of
the key as sent: the keys stored before were global (another caller's key found the booking),
so they are cleared.

Revision ID: a0ac8da0b8a7
Revises: 7a0c8d0495ad
Create Date: 2026-12-02 02:48:06.629131

"""
import sqlalchemy as sa
from alembic import op

import portal.types

# revision identifiers, used by Alembic.
revision = 'a0ac8da0b8a7'
down_revision = '7a0c8d0495ad'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('idempotency_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('created_at', portal.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_key')),
    sa.UniqueConstraint('scope', 'key', name='uq_idempotency_key_scope_key'),
    sqlite_autoincrement=True,  # an id is never used twice: Claim.token is made of it
    )
    with op.batch_alter_table('idempotency_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_key_created_at'), ['created_at'], unique=False)
    op.execute("UPDATE tourism_bookings SET idempotency_key = NULL WHERE idempotency_key IS NOT NULL")


def downgrade():
    with op.batch_alter_table('idempotency_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_key_created_at'))

    op.drop_table('idempotency_key')
