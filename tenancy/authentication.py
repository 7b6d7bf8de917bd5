"""API authentication: `Authorization: Token <api key>`, scoped to the key's project."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from tenancy.deletion import deletion_under_way
from tenancy.models import ApiKey, hash_key

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
        key = (
            ApiKey.objects.select_related("project__organization", "created_by")
            .filter(key_hash=hash_key(parts[1]))
            .first()
        )
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
