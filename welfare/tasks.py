"""Celery tasks of the welfare service: the daily scan, and scans officers start from the API."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from celery.schedules import crontab

from welfare import service

# Every morning at 06:00 (Celery's timezone is Asia/Seoul): notices land before office hours.
BEAT_SCHEDULE = {
    "welfare-daily-scan": {"task": "welfare.scan", "schedule": crontab(hour=6, minute=0)},
}


@shared_task(name="welfare.scan", acks_late=True)
def scan_task(today: str | None = None) -> dict:
    """Safe to run twice or to redeliver: the scan itself never queues a duplicate notice."""
    from portal.extensions import db

    result = service.scan(db.session, None, today=date.fromisoformat(today) if today else None)
    return result.as_json()

