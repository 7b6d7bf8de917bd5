"""Creating organizations, projects and keys, and revoking keys (management commands and the
dashboard use these)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from audit import log as audit_log
from core.errors import Conflict, InvalidRequest, NotFound
from tenancy.deletion import DELETION_MARK
from tenancy.models import ApiKey, Membership, Organization, Project, Role

DEFAULT_ORGANIZATION = "Default organization"
DEFAULT_PROJECT = "default"
NAME_MAX = 200


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


# --- organizations and projects made over the API (tenancy.api.orgs) ----------------------------


def reachable_projects(key: ApiKey, *, deleting: bool = False) -> QuerySet[Project]:
    """The projects an admin API key may manage: its own, and every other project of its
    organization of which the key's creator (a dashboard user) is an admin member.

    The second half is what keeps an admin key of project A from granting itself project B: it
    reaches B only when the person who made it could manage B from the dashboard anyway. A key
    made by no one (a management command) reaches its own project only. Projects being
    deleted are left out, unless `deleting` (a deletion asked for again restarts).
    """
    own = Q(pk=key.project_id)
    if key.created_by_id is not None:
        own |= Q(
            pk__in=Membership.objects.filter(user_id=key.created_by_id, role=Role.ADMIN).values(
                "project_id"
            )
        )
    projects = Project.objects.filter(own, organization_id=key.project.organization_id)
    if not deleting:
        projects = projects.exclude(options__has_key=DELETION_MARK)
    return projects.select_related("organization").order_by("name", "pk")


def check_project_name(project: Project, name: Any) -> None:
    """Conflict when another project of `project`'s organization is called `name` (a rename)."""
    if not isinstance(name, str):
        return  # the settings service says what is wrong with it
    taken = project.organization.projects.filter(name__iexact=name.strip()).exclude(pk=project.pk)
    if taken.exists():
        raise Conflict(
            f"The organization already has a project named {name.strip()!r}; project names "
            "are unique within an organization."
        )


def _clean_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequest(f"{what} name is required: send a non-empty string as `name`.")
    clean = str(name).strip()
    if len(clean) > NAME_MAX:
        raise InvalidRequest(f"{what} name has {len(clean)} characters; at most {NAME_MAX}.")
    return clean


@transaction.atomic
def create_organization(name: Any, *, creator: User | None) -> Organization:
    """A new organization with its `default` project, whose admin is `creator` (when given).

    Conflict when an organization of that name exists (names are unique across the server).
    """
    name = _clean_name(name, "An organization")
    taken = Conflict(f"An organization named {name!r} already exists; pick another name.")
    if Organization.objects.filter(name__iexact=name).exists():
        raise taken
    try:
        with transaction.atomic():
            org = Organization.objects.create(name=name)
    except IntegrityError as exc:  # created by a concurrent request since the check
        raise taken from exc
    project = Project.objects.create(organization=org, name=DEFAULT_PROJECT)
    if creator is not None:
        # Saved through the model: the audit trail's member.add row comes from its signal.
        Membership.objects.create(user=creator, project=project, role=Role.ADMIN)
    audit_log.change(
        "org.create",
        project_id=project.pk,
        target=org.public_id,
        details={"name": org.name, "default_project": project.public_id},
    )
    return org


@transaction.atomic
def create_project(
    organization: Organization, name: Any, *, description: Any = "", creator: User | None
) -> Project:
    """A new project in `organization`, whose admin is `creator` (when given).

    Conflict when the organization has a project of that name already.
    """
    name = _clean_name(name, "A project")
    if description is None:
        description = ""
    if not isinstance(description, str):
        raise InvalidRequest("description must be a string.")
    # Locked, so two concurrent creates of one name give one project and one 409, not a 500.
    Organization.objects.select_for_update().filter(pk=organization.pk).first()
    if organization.projects.filter(name__iexact=name).exists():
        raise Conflict(
            f"The organization already has a project named {name!r}; project names are "
            "unique within an organization."
        )
    project = Project.objects.create(organization=organization, name=name, description=description)
    if creator is not None:
        Membership.objects.create(user=creator, project=project, role=Role.ADMIN)
    audit_log.change(
        "project.create",
        project_id=project.pk,
        target=project.public_id,
        details={"name": project.name, "organization": organization.public_id},
    )
    return project
