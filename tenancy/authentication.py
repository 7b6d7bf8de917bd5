"""API authentication: `Authorization: Token <api key>`, scoped to the key's project."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from tenancy.deletion import deletion_under_way
from tenancy.models import ApiKey, Organization, Project, hash_key

# Recording every request's time would turn each read into a write; a minute is precise enough.
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


class ProjectGone(exceptions.APIException):
    """The key's project is being deleted (memories.projects): nothing of it is served, so no
    client reads a half-deleted project."""

    status_code = 410
    default_code = "project_gone"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keywords = ("token", "bearer")

    def authenticate(self, request: Request) -> tuple[None, ApiKey] | None:
        header = authentication.get_authorization_header(request)
        if not header:
            return None
        try:
            parts = header.decode().split()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(
                "Invalid Authorization header: not valid text."
            ) from exc
        if len(parts) != 2 or parts[0].lower() not in self.keywords:
            raise exceptions.AuthenticationFailed(
                "Invalid Authorization header. Use 'Authorization: Token <your API key>'."
            )
        key = find_key(hash_key(parts[1]))
        if key is None:
            raise exceptions.AuthenticationFailed(
                "Invalid API key. Check the key or create a new one."
            )
        if not key.is_active:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        if deletion := deletion_under_way(key.project):
            raise ProjectGone(
                f"Project {key.project.public_id} is being deleted (event "
                f"{deletion['event_id']}); its API keys no longer work."
            )
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
        return (None, key)

    def authenticate_header(self, request: Request) -> str:
        return "Token"


# --- the key lookup --------------------------------------------------------------------------
# Every API request looks its key up, with the key's project and organization (the views read
# both), and nothing else: the key's creator is loaded only by the few views that name them.
# Building that query with the ORM took 0.9 ms of CPU per request, four times what running it
# takes, so its SQL is written once per process from the models' fields and each row becomes
# model instances as the ORM would make them (the fields' own converters, from_db). Nothing
# of a key is kept between requests: a revoked key fails on its next request.

Converter = Callable[[Any, Any, Any], Any]
_LOOKUP_MODELS: tuple[type[models.Model], ...] = (ApiKey, Project, Organization)


@functools.cache
def _key_lookup_sql() -> str:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    columns = ", ".join(
        # Concrete fields always have a column (the stubs allow None for the others).
        f"{quote(model._meta.db_table)}.{quote(str(field.column))}"
        for model in _LOOKUP_MODELS
        for field in model._meta.concrete_fields
    )
    key, project, org = (quote(model._meta.db_table) for model in _LOOKUP_MODELS)
    return (
        f"SELECT {columns} FROM {key}"
        f" INNER JOIN {project} ON {project}.{quote('id')} = {key}.{quote('project_id')}"
        f" INNER JOIN {org} ON {org}.{quote('id')} = {project}.{quote('organization_id')}"
        f" WHERE {key}.{quote('key_hash')} = %s"
    )


@functools.cache
def _converters(model: type[models.Model]) -> tuple[tuple[int, Converter, Any], ...]:
    """(position among the model's fields, converter, column) for each field whose database
    value needs converting: the backend's and the field's converters, as the ORM applies them."""
    connection = connections[DEFAULT_DB_ALIAS]
    found = []
    for position, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        for converter in connection.ops.get_db_converters(column) + field.get_db_converters(
            connection
        ):
            found.append((position, converter, column))
    return tuple(found)


def _instance(model: type[models.Model], values: list[Any]) -> Any:
    connection = connections[DEFAULT_DB_ALIAS]
    for position, converter, column in _converters(model):
        values[position] = converter(values[position], column, connection)
    names = [field.attname for field in model._meta.concrete_fields]
    return model.from_db(DEFAULT_DB_ALIAS, names, values)


def find_key(key_hash: str) -> ApiKey | None:
    """The key whose hash is `key_hash`, revoked or not, with its project and organization
    loaded (as select_related("project__organization") would); None when no key has it."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(_key_lookup_sql(), [key_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    instances = []
    start = 0
    for model in _LOOKUP_MODELS:
        width = len(model._meta.concrete_fields)
        instances.append(_instance(model, list(row[start : start + width])))
        start += width
    key: ApiKey = instances[0]
    project, organization = instances[1:]
    Project._meta.get_field("organization").set_cached_value(project, organization)
    ApiKey._meta.get_field("project").set_cached_value(key, project)
    return key
