"""notify: "sent" until a provider's receipt, each notice's reference, and provider events (issue 16)

A notice an HTTP provider accepted is now `sent` (a new status), `delivered` only on the
provider's signed receipt. `notify_message.reference` holds the reference that provider was
handed (the keyed hash of the idempotency key), which its receipts name; `notify_provider_event`
keeps each reported event once (unique on notice, event, time and digits).

Rows already `delivered` stay so: they were recorded under the old rule, and no receipt can
name them (their reference was never stored).

Revision ID: b7d2e4f6a813
Revises: a9c4e2f7b018
Create Date: 2026-12-02 11:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

import portal.types

revision = 'b7d2e4f6a813'
down_revision = 'a9c4e2f7b018'
branch_labels = None
depends_on = None

OLD = "status IN ('queued', 'sending', 'delivered', 'temporary_failure', 'permanent_failure')"
NEW = "status IN ('queued', 'sending', 'sent', 'delivered', 'temporary_failure', 'permanent_failure')"
EVENTS = ("event IN ('answered', 'no_answer', 'busy', 'failed', 'keypress', 'delivered', "
          "'undeliverable')")


def upgrade():
    with op.batch_alter_table('notify_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_notify_message_status'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_notify_message_status'), sa.text(NEW))
        batch_op.add_column(sa.Column('reference', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_notify_message_reference'), ['reference'])

    op.create_table(
        'notify_provider_event',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('event', sa.String(length=20), nullable=False),
        sa.Column('digits', sa.String(length=20), nullable=False),
        sa.Column('at', portal.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('received_at', portal.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(EVENTS, name=op.f('ck_notify_provider_event_event')),
        sa.ForeignKeyConstraint(['message_id'], ['notify_message.id'],
                                name=op.f('fk_notify_provider_event_message_id_notify_message'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_provider_event')),
        sa.UniqueConstraint('message_id', 'event', 'at', 'digits', name='uq_notify_provider_event_once'),
    )


def downgrade():
    op.drop_table('notify_provider_event')
    op.execute("UPDATE notify_message SET status = 'delivered' WHERE status = 'sent'")
    with op.batch_alter_table('notify_message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_notify_message_reference'), type_='unique')
        batch_op.drop_column('reference')
        batch_op.drop_constraint(batch_op.f('ck_notify_message_status'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_notify_message_status'), sa.text(OLD))
