"""The Celery app bound to Flask: every task runs inside an app context.

`celery -A portal.tasks worker` and `celery -A portal.tasks beat` build the app from the same
environment settings as the web processes.
"""

from __future__ import annotations

import importlib

from celery import Celery, Task
from flask import Flask


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    from portal import SERVICES

    celery_app = Celery(app.name, task_cls=FlaskTask)
    conf = dict(app.config["CELERY"])
    beat: dict = {}
    task_modules = []
    for name in SERVICES:
        try:
            module = importlib.import_module(name + ".tasks")
        except ModuleNotFoundError as exc:
            if exc.name != name + ".tasks":
                raise
            continue
        task_modules.append(module.__name__)
        beat.update(getattr(module, "BEAT_SCHEDULE", {}))
    from portal import idempotency  # the shell's own task: purging old Idempotency-Keys

    beat.update(idempotency.BEAT_SCHEDULE)
    conf["beat_schedule"] = {**beat, **conf.get("beat_schedule", {})}
    celery_app.config_from_object(conf)
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def _worker_app() -> Celery:
    from portal import create_app
    return create_app().extensions["celery"]


def __getattr__(name: str):
    # `celery -A portal.tasks` looks up `portal.tasks.celery`; build the Flask app only then,
    # so importing this module from create_app does not build a second app.
    if name in ("celery", "app"):
        value = _worker_app()
        globals()["celery"] = globals()["app"] = value
        return value
    raise AttributeError(name)
