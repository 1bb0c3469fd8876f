"""The command-line forms other teams' tools rely on."""

from __future__ import annotations

from datetime import date

from portal.accounts.models import User
from portal.extensions import db


def _count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_users_create_with_every_option(app):
    result = app.test_cli_runner().invoke(args=[
        "users", "create", "Officer@City.kr", "--password", "a-long-password", "--name", "최은영",
        "--role", "staff", "--role", "welfare_officer", "--birth-date", "1979-06-30",
        "--district", "성동구", "--verified"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(db.select(User).where(User.email == "officer@city.kr"))
    assert user.roles == {"staff", "welfare_officer"} and user.is_verified
    assert str(user.birth_date) == "1979-06-30" and user.district == "seongdong" and user.name == "최은영"


def test_users_create_rejects_bad_input_and_changes_nothing(app):
    runner = app.test_cli_runner()
    short = runner.invoke(args=["users", "create", "x@city.kr", "--password", "short"])
    assert short.exit_code != 0 and "8" in short.output
    role = runner.invoke(args=["users", "create", "y@city.kr", "--password", "long-enough", "--role", "mayor"])
    assert role.exit_code != 0
    assert _count(User) == 0


def test_users_token_prints_a_working_token_on_the_last_line(app, client, make_user):
    make_user(email="t@city.kr")
    result = app.test_cli_runner().invoke(args=["users", "token", "t@city.kr"])
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    resp = client.get("/api/v1/accounts/me", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and resp.get_json()["email"] == "t@city.kr"


def test_users_token_for_unknown_email_fails(app):
    result = app.test_cli_runner().invoke(args=["users", "token", "nobody@city.kr"])
    assert result.exit_code != 0


def test_register_import_command(app, tmp_path):
    path = tmp_path / "register.csv"
    path.write_text("name,birth_date,district,document_number\n홍길동,1950-03-01,성동구,500301-1234567\n",
                    encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["register", "import", str(path)])
    assert result.exit_code == 0 and "1" in result.output


def test_seed_demo_is_idempotent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    counts = {t.name: db.session.scalar(db.select(db.func.count()).select_from(t))
              for t in db.metadata.sorted_tables if not t.name.startswith(("audit", "notify", "eid_access"))}
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    again = {t.name: db.session.scalar(db.select(db.func.count()).select_from(t))
             for t in db.metadata.sorted_tables if not t.name.startswith(("audit", "notify", "eid_access"))}
    assert counts == again
    assert counts["user"] >= 6


def test_an_operator_verifying_states_the_facts_the_card_attests(app, make_user):
    make_user(email="self@city.kr", verified=False, birth_date=date(1940, 1, 1))
    runner = app.test_cli_runner()
    bare = runner.invoke(args=["users", "create", "self@city.kr", "--password", "a-long-password", "--verified"])
    assert bare.exit_code != 0 and "--birth-date" in bare.output
    db.session.expire_all()
    assert not db.session.scalar(db.select(User).where(User.email == "self@city.kr")).is_verified
    ok = runner.invoke(args=["users", "create", "self@city.kr", "--password", "a-long-password", "--verified",
                             "--birth-date", "1990-07-07", "--district", "광진구"])
    assert ok.exit_code == 0, ok.output
    db.session.expire_all()
    user = db.session.scalar(db.select(User).where(User.email == "self@city.kr"))
    assert user.is_verified and str(user.birth_date) == "1990-07-07" and user.district == "gwangjin"
