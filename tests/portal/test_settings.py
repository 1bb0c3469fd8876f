"""portal.settings: one typed reader, one default per setting."""

from __future__ import annotations

from portal.settings import Setting, as_bool


def test_a_setting_reads_parses_clamps_and_falls_back_to_its_one_default():
    minutes = Setting("BOOKING_HOLD_MINUTES", 15, int, minimum=1, maximum=120)
    assert minutes.get({}) == 15
    assert minutes.get({"BOOKING_HOLD_MINUTES": ""}) == 15
    assert minutes.get({"BOOKING_HOLD_MINUTES": "20"}) == 20
    assert minutes.get({"BOOKING_HOLD_MINUTES": 0}) == 1
    assert minutes.get({"BOOKING_HOLD_MINUTES": "999"}) == 120
    assert minutes.get({"BOOKING_HOLD_MINUTES": "soon"}) == 15


def test_a_setting_reads_the_app_config_and_may_read_the_environment(app, monkeypatch):
    on = Setting("PORTAL_TEST_FLAG", False, as_bool, environ=True)
    with app.app_context():
        assert on() is False
        monkeypatch.setenv("PORTAL_TEST_FLAG", "yes")
        assert on() is True
        app.config["PORTAL_TEST_FLAG"] = "off"
        try:
            assert on() is False
        finally:
            app.config.pop("PORTAL_TEST_FLAG")
