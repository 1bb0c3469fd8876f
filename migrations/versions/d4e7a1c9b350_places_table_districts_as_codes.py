"""places: one table of districts and tourism areas; district columns store a place's code

`place` holds each district and tourism area once: a stable code, its kind, its name in ko, en
and zh, its order. The rows are `portal.places.PLACES` (Seoul's 25 districts from the official
administrative codes, the demo listings' tourism areas; the module says where each name comes
from).

Columns that named a place by text now hold its code: `user.district`,
`resident_register.district`, `welfare_profile.district`, the districts of welfare programme
rules (`{"district": {"in": [...]}}`), `proposals.district` and `eid_facility.districts`.
A stored value that names a place in any language ("성동구", "Seongdong-gu", "城东区") becomes its
code; a value that names none is left as it was (pages show it as it is). Tourism areas follow in
the next migration.

Revision ID: d4e7a1c9b350
Revises: 5d1f3b7c9e20
Create Date: 2026-12-03 09:00:00.000000

"""
from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op

import portal.types
from portal import places

# revision identifiers, used by Alembic.
revision = 'd4e7a1c9b350'
down_revision = '5d1f3b7c9e20'
branch_labels = None
depends_on = None

PLACE = sa.table(
    'place',
    sa.column('code', sa.String), sa.column('kind', sa.String), sa.column('name_ko', sa.String),
    sa.column('name_en', sa.String), sa.column('name_zh', sa.String), sa.column('sort', sa.Integer),
)

# (table, column, kind) of the text columns that name one place.
TEXT_COLUMNS = (
    ('user', 'district', 'district'),
    ('resident_register', 'district', 'district'),
    ('welfare_profile', 'district', 'district'),
    ('proposals', 'district', 'district'),
)


def _rows(conn):
    return [SimpleNamespace(**r._mapping) for r in conn.execute(sa.select(PLACE))]


def _recode_text_columns(conn, to_value):
    for table_name, column, kind in TEXT_COLUMNS:
        t = sa.table(table_name, sa.column(column, sa.String))
        values = conn.execute(sa.select(t.c[column]).where(t.c[column].is_not(None)).distinct()).scalars()
        for old in list(values):
            new = to_value(old, kind)
            if new is not None and new != old:
                conn.execute(t.update().where(t.c[column] == old).values({column: new}))


def _recode_facilities(conn, to_value):
    t = sa.table('eid_facility', sa.column('id', sa.Integer), sa.column('districts', portal.types.JSONType()))
    for fid, districts in conn.execute(sa.select(t.c.id, t.c.districts)).all():
        if not districts:
            continue
        new = [to_value(d, 'district') or d if isinstance(d, str) else d for d in districts]
        if new != districts:
            conn.execute(t.update().where(t.c.id == fid).values(districts=new))


def _recode_rule(rule, to_value):
    if isinstance(rule, list):
        return [_recode_rule(r, to_value) for r in rule]
    if not isinstance(rule, dict):
        return rule
    out = {}
    for key, value in rule.items():
        if key == 'district' and isinstance(value, dict) and isinstance(value.get('in'), list):
            out[key] = {**value, 'in': [(to_value(n, 'district') or n) if isinstance(n, str) else n
                                        for n in value['in']]}
        else:
            out[key] = _recode_rule(value, to_value)
    return out


def _recode_rules(conn, to_value):
    t = sa.table('welfare_programme', sa.column('id', sa.Integer), sa.column('rules', portal.types.JSONType()))
    for pid, rules in conn.execute(sa.select(t.c.id, t.c.rules)).all():
        new = _recode_rule(rules, to_value)
        if new != rules:
            conn.execute(t.update().where(t.c.id == pid).values(rules=new))



def upgrade():
    op.create_table(
        'place',
        sa.Column('code', sa.String(length=places.CODE_MAX), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('name_ko', sa.String(length=places.NAME_MAX), nullable=True),
        sa.Column('name_en', sa.String(length=places.NAME_MAX), nullable=True),
        sa.Column('name_zh', sa.String(length=places.NAME_MAX), nullable=True),
        sa.Column('sort', sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('district', 'area')", name=op.f('ck_place_kind')),
        sa.PrimaryKeyConstraint('code', name=op.f('pk_place')),
    )
    with op.batch_alter_table('place', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_place_kind'), ['kind'], unique=False)
    op.bulk_insert(PLACE, places.seed_rows())
    conn = op.get_bind()

    index = places.index_of(_rows(conn))

    def to_code(value, kind):
        return places.match_in(index, value, kind)

    _recode_text_columns(conn, to_code)
    _recode_facilities(conn, to_code)
    _recode_rules(conn, to_code)


def downgrade():
    conn = op.get_bind()
    rows = {r.code: r for r in _rows(conn)}

    def to_name(value, _kind):
        r = rows.get(value)
        return (r.name_ko or r.name_en or r.name_zh) if r is not None and r.kind == 'district' else None

    _recode_text_columns(conn, to_name)
    _recode_facilities(conn, to_name)
    _recode_rules(conn, to_name)
    with op.batch_alter_table('place', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_place_kind'))
    op.drop_table('place')
