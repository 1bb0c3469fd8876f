"""The daily scan runs from Celery beat, through the same service function."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from welfare.models import Notice
from welfare.tasks import BEAT_SCHEDULE, scan_task

from .conftest import TODAY


def test_daily_scan_is_scheduled(app):
    schedule = app.extensions["celery"].conf.beat_schedule
    assert schedule["welfare-daily-scan"]["task"] == "welfare.scan"
    assert BEAT_SCHEDULE["welfare-daily-scan"]["schedule"].hour == {6}


def test_scan_task_queues_notices_once(app, make_programme, make_user, make_profile):
    make_programme("elderly")
    make_profile(make_user())
    runs = [scan_task.apply(kwargs={"today": TODAY.isoformat()}) for _ in range(2)]
    assert all(run.successful() for run in runs)
    first, again = (run.result for run in runs)  # EagerResult: no .get() (Celery forbids it in a task)
    assert (first["new_notices"], again["new_notices"]) == (1, 0)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 1
