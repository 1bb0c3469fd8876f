"""tourism: the demo's areas are in Seoul, where the demo city is (data only)

The first tourism demo was set in Yeosu, while the rest of the demo city is Seoul's
Seongdong-gu; issue 13 asks for one city. This replaces the six Yeosu areas of the places table
by the six Seoul areas of the demo (portal.places.PLACES, copied here as they were when this was
written, so the revision does what it did whatever the table says later):

- the Seoul areas are inserted (or, where a code exists already, given these names);
- each listing of the first demo (by its slug) that is still in its Yeosu area moves to the
  Seoul area of the listing that replaces it (`flask seed-demo` then rewrites its texts: see
  tourism/demo.py);
- a Yeosu area that no listing uses any more goes. One that a listing still uses (staff's own
  listing in Dolsan, say) stays, with its names, so that listing reads as before.

Downgrade puts the Yeosu areas back and the demo's listings (by their old or new slug) in them,
and removes the Seoul areas no listing uses.

Revision ID: b7d2e9f4a613
Revises: f1a8c3d5e762
Create Date: 2026-12-03 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

from portal.db import insert

# revision identifiers, used by Alembic.
revision = 'b7d2e9f4a613'
down_revision = 'f1a8c3d5e762'
branch_labels = None
depends_on = None

PLACE = sa.table(
    'place',
    sa.column('code', sa.String), sa.column('kind', sa.String), sa.column('name_ko', sa.String),
    sa.column('name_en', sa.String), sa.column('name_zh', sa.String), sa.column('sort', sa.Integer),
)
LISTINGS = sa.table('tourism_listings', sa.column('slug', sa.String), sa.column('area', sa.String))

# (code, ko, en, zh, sort): the areas as portal.places had them.
YEOSU = (
    ('dolsan', '돌산', 'Dolsan', '突山', 25),
    ('odongdo', '오동도', 'Odongdo', '梧桐岛', 26),
    ('jungang-dong', '중앙동', 'Jungang-dong', '中央洞', 27),
    ('gukdong', '국동', 'Gukdong', '菊洞', 28),
    ('yeosu-port', '여수항', 'Yeosu Port', '丽水港', 29),
    ('expo', '엑스포', 'Expo', '世博园', 30),
)
SEOUL = (
    ('ttukseom', '뚝섬', 'Ttukseom', '纛岛', 25),
    ('seoul-forest', '서울숲', 'Seoul Forest', '首尔林', 26),
    ('bukchon', '북촌', 'Bukchon', '北村', 27),
    ('seongsu', '성수동', 'Seongsu-dong', '圣水洞', 28),
    ('oksu', '옥수동', 'Oksu-dong', '玉水洞', 29),
    ('namsangol', '남산골한옥마을', 'Namsangol Hanok Village', '南山谷韩屋村', 30),
)
# (old slug, new slug, Yeosu area, Seoul area) of each demo listing (tourism/demo.py).
MOVES = (
    ('yeosu-night-sea-cruise', 'hangang-night-cruise', 'dolsan', 'ttukseom'),
    ('odongdo-guided-walk', 'seoul-forest-guided-walk', 'odongdo', 'seoul-forest'),
    ('gyodong-hanok-stay', 'bukchon-hanok-stay', 'jungang-dong', 'bukchon'),
    ('gukdong-seafood-table', 'seongsu-hansik-table', 'gukdong', 'seongsu'),
    ('yeosu-geomundo-ferry', 'hangang-bus-oksu-yeouido', 'yeosu-port', 'oksu'),
    ('expo-big-o-show', 'namsan-gugak-evening', 'expo', 'namsangol'),
)


def _rows(areas):
    return [{'code': code, 'kind': 'area', 'name_ko': ko, 'name_en': en, 'name_zh': zh, 'sort': sort}
            for code, ko, en, zh, sort in areas]


def _drop_unused(conn, areas):
    used = sa.select(LISTINGS.c.area).where(LISTINGS.c.area.is_not(None))
    conn.execute(PLACE.delete().where(PLACE.c.kind == 'area', PLACE.c.code.in_([a[0] for a in areas]),
                                      PLACE.c.code.not_in(used)))


def upgrade():
    conn = op.get_bind()
    stmt = insert(conn, PLACE)
    conn.execute(stmt.on_conflict_do_update(index_elements=['code'], set_={
        c: stmt.excluded[c] for c in ('kind', 'name_ko', 'name_en', 'name_zh', 'sort')}), _rows(SEOUL))
    for old_slug, _new_slug, yeosu, seoul in MOVES:
        conn.execute(LISTINGS.update().where(LISTINGS.c.slug == old_slug, LISTINGS.c.area == yeosu)
                     .values(area=seoul))
    _drop_unused(conn, YEOSU)


def downgrade():
    conn = op.get_bind()
    conn.execute(insert(conn, PLACE).on_conflict_do_nothing(index_elements=['code']), _rows(YEOSU))
    for old_slug, new_slug, yeosu, seoul in MOVES:
        conn.execute(LISTINGS.update().where(LISTINGS.c.slug.in_((old_slug, new_slug)), LISTINGS.c.area == seoul)
                     .values(area=yeosu))
    _drop_unused(conn, SEOUL)
