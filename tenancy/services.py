"""Creating organizations, projects and keys (management commands and the dashboard use these)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from tenancy.models import ApiKey, Organization, Project, Role

DEFAULT_ORGANIZATION = "Default organization"
DEFAULT_PROJECT = "default"


@transaction.atomic
def get_or_create_project(
    name: str = DEFAULT_PROJECT, *, organization: str = DEFAULT_ORGANIZATION
) -> Project:
    org, _ = Organization.objects.get_or_create(name=organization)
    project, _ = Project.objects.get_or_create(organization=org, name=name)
    return project


def create_api_key(
    project: Project,
    *,
    role: str = Role.ADMIN,
    name: str = "",
    created_by: User | None = None,
) -> str:
    """Create a key for `project` and return the raw secret (shown once, never stored)."""
    if role not in Role.values:
        raise ValueError(f"role must be one of {', '.join(Role.values)}")
    _key, raw = ApiKey.generate(project=project, role=role, name=name, created_by=created_by)
    return raw
