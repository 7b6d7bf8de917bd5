"""The Celery application. Configuration lives in settings.py as CELERY_* values."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import beat_init, task_postrun, worker_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "memdash.settings")

logger = logging.getLogger(__name__)

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
    # Imported here: `python -m memdash.embedded_db` imports this package first, and must find
    # the module it runs not imported yet.
    from django.conf import settings

    from memdash import embedded_db

    if settings.EMBEDDED_POSTGRES:
        embedded_db.ensure_started()


@worker_ready.connect
def _recover_stale_events_on_start(sender: Any, **kwargs: Any) -> None:
    # A worker that died mid-task left its events RUNNING; a worker starting re-queues them.
    # Here, in the worker's own process rather than as a task any worker may take: this is the
    # machine that can tell its dead processes are gone, so their events go back at once.
    # Again once a dead worker elsewhere would have gone stale, in case no beat runs.
    # (Imported here: this module is imported before Django's apps are ready.)
    from django.conf import settings
    from django.db import connections

    from memories import events

    try:
        events.recover_stale()
    except Exception:
        logger.exception("could not recover stale events at start; beat will")
    finally:
        connections.close_all()
    app.send_task(
        "memories.tasks.recover_stale_events",
        countdown=settings.MEMDASH_EVENT_STALE_SECONDS + events.heartbeat_interval(),
    )


@task_postrun.connect
def _end_event_claims(**kwargs: Any) -> None:
    # However a task ended, the events it claimed are no longer its to keep alive: one it left
    # RUNNING is the stale-event sweeper's.
    from memories import events

    events.end_claims_of_this_thread()
