"""The Celery application. Configuration lives in settings.py as CELERY_* values."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_ready

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


@worker_ready.connect
def _recover_stale_events_on_start(sender, **kwargs) -> None:
    # A worker that died mid-task left its events RUNNING; the first worker up re-queues them.
    from memories.tasks import recover_stale_events

    recover_stale_events.delay()
