"""tourism: area names per locale

`tourism_listings.area` stays the key filters use (?area=Dolsan); `area_name` holds what people
read, {"ko": "돌산", "en": "Dolsan", "zh": "突山"}. Existing rows get {} from the server default
and show the key until staff (or `flask seed-demo`) fill the names in.

Revision ID: 7ba960efa458
Revises: be306c4afc82
Create Date: 2026-11-23 16:36:42.689087

"""
from alembic import op
import sqlalchemy as sa
import portal.types


# revision identifiers, used by Alembic.
revision = '7ba960efa458'
down_revision = 'be306c4afc82'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tourism_listings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area_name', portal.types.JSONType(), server_default=sa.text("'{}'"), nullable=False))


def downgrade():
    with op.batch_alter_table('tourism_listings', schema=None) as batch_op:
        batch_op.drop_column('area_name')
