"""`flask db upgrade` builds the schema the models describe, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import contextlib
import os

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from portal import create_app
from portal.extensions import db
from tests.conftest import scratch_database


@contextlib.contextmanager
def _fresh_url(database_url: str, tmp_path):
    if not database_url.startswith("postgresql"):
        yield "sqlite:///" + str(tmp_path / "migrated.db")
        return
    with scratch_database(database_url, "portal_migr") as url:
        yield url


def test_upgrade_head_matches_the_models(database_url, tmp_path):
    with _fresh_url(database_url, tmp_path) as url:
        app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url,
                          "CELERY": {"task_always_eager": True}})
        with app.app_context():
            upgrade(directory=os.path.join(app.root_path, "..", "migrations"))
            with db.engine.connect() as conn:
                ctx = MigrationContext.configure(conn, opts={"compare_type": True})
                diff = compare_metadata(ctx, db.metadata)
            db.engine.dispose()
        assert diff == [], f"models and migrations differ: {diff[:5]}"
