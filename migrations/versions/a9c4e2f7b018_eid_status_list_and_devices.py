"""eid: a status-list position per card, and the devices a card's credential is bound to (issue 15)

Each card gets a random, unique position in the IETF Token Status List
(``eid_card.status_idx``; existing cards are given one here), and ``eid_device`` records the
phones a card's device-bound credential was issued to.

Revision ID: a9c4e2f7b018
Revises: c5e1a7d3f914
Create Date: 2026-12-02 11:30:00.000000

"""
import secrets

import sqlalchemy as sa

import portal.types
from alembic import op

revision = 'a9c4e2f7b018'
down_revision = 'c5e1a7d3f914'
branch_labels = None
depends_on = None

STATUS_LIST_SIZE = 1 << 20  # portal.eid.models.STATUS_LIST_SIZE, as it was at this revision


def upgrade():
    with op.batch_alter_table('eid_card', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_idx', sa.Integer(), nullable=True))
    bind = op.get_bind()
    ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM eid_card ORDER BY id"))]
    taken: set[int] = set()
    for card_id in ids:
        idx = secrets.randbelow(STATUS_LIST_SIZE)
        while idx in taken:
            idx = secrets.randbelow(STATUS_LIST_SIZE)
        taken.add(idx)
        bind.execute(sa.text("UPDATE eid_card SET status_idx = :i WHERE id = :id"), {"i": idx, "id": card_id})
    with op.batch_alter_table('eid_card', schema=None) as batch_op:
        batch_op.alter_column('status_idx', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_eid_card_status_idx'), ['status_idx'])

    op.create_table(
        'eid_device',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('card_id', sa.Integer(), nullable=False),
        sa.Column('thumbprint', sa.String(length=64), nullable=False),
        sa.Column('public_key', sa.LargeBinary(length=65), nullable=False),
        sa.Column('created_at', portal.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('credential_expires_at', portal.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['card_id'], ['eid_card.id'], name=op.f('fk_eid_device_card_id_eid_card'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_eid_device')),
    )
    op.create_index('uq_eid_device_card_thumbprint', 'eid_device', ['card_id', 'thumbprint'], unique=True)


def downgrade():
    op.drop_index('uq_eid_device_card_thumbprint', table_name='eid_device')
    op.drop_table('eid_device')
    with op.batch_alter_table('eid_card', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_eid_card_status_idx'), type_='unique')
        batch_op.drop_column('status_idx')
