"""`flask db upgrade` builds the schema the models describe, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import os
import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.extensions import db


def _fresh_url(database_url: str, tmp_path) -> tuple[str, callable]:
    if not database_url.startswith("postgresql"):
        return "sqlite:///" + str(tmp_path / "migrated.db"), lambda: None
    url = make_url(database_url)
    name = f"portal_migr_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


def test_upgrade_head_matches_the_models(database_url, tmp_path):
    url, drop = _fresh_url(database_url, tmp_path)
    try:
        app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url,
                          "CELERY": {"task_always_eager": True}})
        with app.app_context():
            upgrade(directory=os.path.join(app.root_path, "..", "migrations"))
            with db.engine.connect() as conn:
                ctx = MigrationContext.configure(conn, opts={"compare_type": True})
                diff = compare_metadata(ctx, db.metadata)
            db.engine.dispose()
        assert diff == [], f"models and migrations differ: {diff[:5]}"
    finally:
        drop()
