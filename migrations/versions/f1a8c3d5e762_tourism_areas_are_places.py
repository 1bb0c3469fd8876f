"""tourism: a listing's area is a place's code; area names live in `place`

`tourism_listings.area` held a free key ("Dolsan", "Yeosu Port") and `area_name` its names per
locale. Now `area` holds the code of an area in `place` (portal.places): a key or name that
names an area of the table becomes its code ("Yeosu Port" -> yeosu-port); one that names none
becomes a new area of its own (code from the key, names from `area_name`, the key as its English
name when it had none). `area_name` goes: pages, filters, search and the API read the names from
`place`. The next revision (b7d2e9f4a613) replaces the first demo's Yeosu areas.

Downgrade puts `area_name` back with each listing's area names from `place`; `area` keeps the
code (a key the old filter matches).

Revision ID: f1a8c3d5e762
Revises: 8e2b6c4d1a57
Create Date: 2026-12-03 09:30:00.000000

"""
import re
from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op

import portal.types
from portal import places

# revision identifiers, used by Alembic.
revision = 'f1a8c3d5e762'
down_revision = '8e2b6c4d1a57'
branch_labels = None
depends_on = None

PLACE = sa.table(
    'place',
    sa.column('code', sa.String), sa.column('kind', sa.String), sa.column('name_ko', sa.String),
    sa.column('name_en', sa.String), sa.column('name_zh', sa.String), sa.column('sort', sa.Integer),
)


def _rows(conn):
    return [SimpleNamespace(**r._mapping) for r in conn.execute(sa.select(PLACE))]


def _slug(text):
    return re.sub(r'[^a-z0-9]+', '-', text.lower()).strip('-')[:places.CODE_MAX]


def upgrade():
    conn = op.get_bind()
    # Tourism areas: a listing's area key (or one of its names) that names no place is a new area.
    listings = sa.table('tourism_listings', sa.column('id', sa.Integer), sa.column('area', sa.String),
                        sa.column('area_name', portal.types.JSONType()))
    index = places.index_of(_rows(conn))
    taken = set(index.by_code)
    sort = conn.execute(sa.select(sa.func.max(PLACE.c.sort))).scalar() or 0
    for lid, area, names in conn.execute(sa.select(listings.c.id, listings.c.area, listings.c.area_name)).all():
        if not (area or '').strip():
            continue
        names = {k: v for k, v in (names or {}).items() if k in ('ko', 'en', 'zh') and isinstance(v, str) and v}
        code = places.match_in(index, area, 'area') or next(
            (c for n in names.values() if (c := places.match_in(index, n, 'area'))), None)
        if code is None:
            code = _slug(area) or 'area'
            base, n = code, 2
            while code in taken:
                code = f'{base[:places.CODE_MAX - 4]}-{n}'
                n += 1
            sort += 1
            conn.execute(PLACE.insert().values(
                code=code, kind='area', sort=sort, name_ko=names.get('ko'),
                name_en=names.get('en') or (None if names else area.strip()), name_zh=names.get('zh')))
            taken.add(code)
            index = places.index_of(_rows(conn))
        conn.execute(listings.update().where(listings.c.id == lid).values(area=code))
    with op.batch_alter_table('tourism_listings', schema=None) as batch_op:
        batch_op.drop_column('area_name')


def downgrade():
    conn = op.get_bind()
    rows = {r.code: r for r in _rows(conn)}
    with op.batch_alter_table('tourism_listings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area_name', portal.types.JSONType(), server_default=sa.text("'{}'"),
                                      nullable=False))
    listings = sa.table('tourism_listings', sa.column('area', sa.String),
                        sa.column('area_name', portal.types.JSONType()))
    for code, r in rows.items():
        if r.kind == 'area':
            names = {k: v for k, v in (('ko', r.name_ko), ('en', r.name_en), ('zh', r.name_zh)) if v}
            conn.execute(listings.update().where(listings.c.area == code).values(area_name=names))
