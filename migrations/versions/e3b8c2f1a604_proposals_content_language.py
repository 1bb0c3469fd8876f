"""proposals: the language of a proposal's and a comment's text

`proposals.lang` and `proposal_comments.lang` say which language the author wrote in (their
locale at the time), so pages in another language mark the text with lang="..." for screen
readers. Rows written before this are Korean (the portal's default locale).

Revision ID: e3b8c2f1a604
Revises: d4e7a1c9b350
Create Date: 2026-12-03 09:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e3b8c2f1a604'
down_revision = 'd4e7a1c9b350'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('proposals', 'proposal_comments'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('lang', sa.String(length=8), server_default='ko', nullable=False))


def downgrade():
    for table in ('proposal_comments', 'proposals'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('lang')
