"""welfare: income as a percentage of the standard median income

`welfare_profile.income_percentile` becomes `median_income_pct`: household income as a
percentage of the 기준 중위소득 (standard median income) for the household's size, the measure
Korean welfare criteria use ("기준 중위소득 50% 이하"). The number was always meant so (the demo
and the rules' bounds are 기준 중위소득 percentages); only the name and the label said "percentile",
which it never was. Values are kept as they are; above 100 is now allowed (up to 1000).
Programme rules' "income_percentile" conditions are renamed "median_income_pct" (the API still
accepts the old name on input).

Revision ID: 8e2b6c4d1a57
Revises: e3b8c2f1a604
Create Date: 2026-12-03 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import portal.types

# revision identifiers, used by Alembic.
revision = '8e2b6c4d1a57'
down_revision = 'e3b8c2f1a604'
branch_labels = None
depends_on = None

programmes = sa.table('welfare_programme', sa.column('id', sa.Integer),
                      sa.column('rules', portal.types.JSONType()))


def _renamed(node, old, new):
    if isinstance(node, dict):
        return {(new if k == old else k): _renamed(v, old, new) for k, v in node.items()}
    if isinstance(node, list):
        return [_renamed(v, old, new) for v in node]
    return node


def _rename_rules(old, new):
    bind = op.get_bind()
    for pid, rules in bind.execute(sa.select(programmes.c.id, programmes.c.rules)).all():
        renamed = _renamed(rules, old, new)
        if renamed != rules:
            bind.execute(programmes.update().where(programmes.c.id == pid).values(rules=renamed))


def upgrade():
    with op.batch_alter_table('welfare_profile', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_welfare_profile_income_percentile_range'), type_='check')
        batch_op.alter_column('income_percentile', new_column_name='median_income_pct')
        batch_op.create_check_constraint(
            op.f('ck_welfare_profile_median_income_pct_range'),
            'median_income_pct IS NULL OR (median_income_pct BETWEEN 0 AND 1000)')
    _rename_rules('income_percentile', 'median_income_pct')


def downgrade():
    _rename_rules('median_income_pct', 'income_percentile')
    with op.batch_alter_table('welfare_profile', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_welfare_profile_median_income_pct_range'), type_='check')
    # The old column held at most 100: a higher percentage is kept as 100.
    op.execute('UPDATE welfare_profile SET median_income_pct = 100 WHERE median_income_pct > 100')
    with op.batch_alter_table('welfare_profile', schema=None) as batch_op:
        batch_op.alter_column('median_income_pct', new_column_name='income_percentile')
        batch_op.create_check_constraint(
            op.f('ck_welfare_profile_income_percentile_range'),
            'income_percentile IS NULL OR (income_percentile BETWEEN 0 AND 100)')
