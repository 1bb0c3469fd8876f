"""CSV import: good rows land, bad rows are listed by line, and a bad file writes nothing."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import force_locale

from portal.audit import AuditEntry
from portal.extensions import db
from welfare.models import WelfareProfile

HEADER = "email,birth_date,median_income_pct,household_size,lives_alone,disability_grade," \
         "youngest_child_birth_date,district\n"


def run_import(app, tmp_path, body, header=HEADER):
    path = tmp_path / "profiles.csv"
    path.write_text(header + body, encoding="utf-8")
    with force_locale("en"):
        return app.test_cli_runner().invoke(args=["welfare", "import", str(path)])


def profiles():
    return {p.user.email: p for p in db.session.scalars(sa.select(WelfareProfile))}


def test_good_file_is_imported(app, tmp_path, make_user):
    make_user(email="grandma@test.kr")
    make_user(email="Parent@Test.kr")
    result = run_import(app, tmp_path,
                        "grandma@test.kr,1951-02-03,38,1,true,,,성동구\n"
                        "PARENT@test.kr,1988-04-12,62,3,no,4,2022-05-01, 중구 \n")
    assert result.exit_code == 0, result.output
    assert "Imported 2 profiles (2 new, 0 updated)" in result.output
    got = profiles()
    assert got["grandma@test.kr"].birth_date == date(1951, 2, 3)
    assert got["grandma@test.kr"].lives_alone is True
    assert got["grandma@test.kr"].median_income_pct == 38
    parent = got["parent@test.kr"]
    assert (parent.household_size, parent.disability_grade, parent.district) == (3, 4, "jung")
    assert parent.youngest_child_birth_date == date(2022, 5, 1)
    assert parent.source == "import"
    # the audit row counts rows; it carries no personal data
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "welfare.profiles.import"))
    assert entry.details == {"rows": 2}


def test_reimport_updates_in_place(app, tmp_path, make_user):
    make_user(email="grandma@test.kr")
    assert run_import(app, tmp_path, "grandma@test.kr,1951-02-03,38,1,true,,,성동구\n").exit_code == 0
    result = run_import(app, tmp_path, "grandma@test.kr,1951-02-03,45,1,true,2,,성동구\n")
    assert result.exit_code == 0, result.output
    assert "(0 new, 1 updated)" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WelfareProfile)) == 1
    db.session.expire_all()
    assert profiles()["grandma@test.kr"].median_income_pct == 45


def test_bad_rows_are_listed_by_line_and_nothing_is_written(app, tmp_path, make_user):
    make_user(email="ok@test.kr")
    make_user(email="ok2@test.kr")
    result = run_import(app, tmp_path,
                        "ok@test.kr,1951-02-03,38,1,true,,,성동구\n"          # line 2: fine
                        "ok2@test.kr,1951-13-03,1138,1,maybe,9,,성동구\n"     # line 3: four errors
                        "ghost@test.kr,1960-01-01,20,1,false,,,중구\n"        # line 4: no account
                        "ok@test.kr,1970-01-01,20,2,false,,,중구\n"           # line 5: duplicate
                        "ok2@test.kr,1970-01-01,20,2,true,,2099-01-01,중구\n")  # line 6: dup, alone in 2, future
    assert result.exit_code == 1
    out = result.output
    assert "Nothing imported" in out
    assert "line 3, birth_date:" in out
    assert "line 3, median_income_pct: Must be between 0 and 1000." in out
    assert "line 3, lives_alone:" in out
    assert "line 3, disability_grade:" in out
    assert "line 4, email: No account has this email." in out
    assert "line 5, email: Same email as line 2." in out
    assert "line 6, household_size:" in out
    assert "line 6, youngest_child_birth_date: Must not be in the future." in out
    assert "line 2," not in out
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WelfareProfile)) == 0


def test_unknown_column_is_rejected(app, tmp_path, make_user):
    make_user(email="ok@test.kr")
    result = run_import(app, tmp_path, "ok@test.kr,1,secret\n", header="email,household_size,ssn\n")
    assert result.exit_code == 1
    assert "line 1, ssn: Unknown column." in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WelfareProfile)) == 0


def test_help_documents_the_columns(app):
    result = app.test_cli_runner().invoke(args=["welfare", "import", "--help"])
    assert result.exit_code == 0
    for column in ("email", "birth_date", "median_income_pct", "household_size", "lives_alone",
                   "disability_grade", "youngest_child_birth_date", "district"):
        assert column in result.output
