"""The Celery application. Configuration lives in settings.py as CELERY_* values."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import beat_init, worker_init, worker_ready

from memdash import embedded_db

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "memdash.settings")

app = Celery("memdash")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _tune_database_broker() -> None:
    # kombu's SQLAlchemy transport hands every broker_transport_options key to create_engine, so
    # its polling interval (default 1 s) can only be set on the class.
    from kombu.transport import sqlalchemy

    sqlalchemy.Transport.polling_interval = 0.1


_tune_database_broker()


@worker_init.connect
@beat_init.connect
def _start_embedded_database(**kwargs: Any) -> None:
    # Without CELERY_BROKER_URL the database is the broker, and a worker or beat connects to it
    # before any query (which is when the database backend would start the embedded server).
    from django.conf import settings

    if settings.EMBEDDED_POSTGRES:
        embedded_db.ensure_started()


@worker_ready.connect
def _recover_stale_events_on_start(sender: Any, **kwargs: Any) -> None:
    # A worker that died mid-task left its events RUNNING; the first worker up re-queues them.
    app.send_task("memories.tasks.recover_stale_events")
