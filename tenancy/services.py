"""Creating organizations, projects and keys, and revoking keys (management commands and the
dashboard use these)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from core.errors import NotFound
from tenancy.models import ApiKey, Membership, Organization, Project, Role

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


def revoke_api_key(project: Project, key_id: int) -> bool:
    """Revoke the project's key `key_id` at once; False when it already was.

    NotFound for a key of another project, or none.
    """
    # Saved through the model (locked, so two revokes log one), not a queryset update: the
    # audit trail's key.revoke row comes from the save signal.
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().filter(project=project, pk=key_id).first()
        if key is None:
            raise NotFound("No such key in this project.")
        if key.revoked_at is not None:
            return False
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return True


def member_names(project: Project) -> list[str]:
    """The usernames of the project's members (whose logins its audit log shows)."""
    return list(Membership.objects.filter(project=project).values_list("user__username", flat=True))
