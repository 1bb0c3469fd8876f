"""Fault drills with real processes (issue 12): each starts what it breaks (a PostgreSQL of its
own, a private Redis, gunicorn, a Celery worker), breaks it mid-run, and records its figures."""
