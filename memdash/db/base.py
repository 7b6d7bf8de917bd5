"""Django's PostgreSQL backend for the embedded server: it starts the server before connecting.

settings.py selects it only when DATABASE_URL is unset (see memdash.embedded_db).
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base

from memdash import embedded_db


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        embedded_db.ensure_started()
        return super().get_new_connection(conn_params)
