"""Project members: dashboard users with a role in a project (a Membership), found by email.

The API's member endpoints (tenancy.api.orgs) and the dashboard call these. Mem0 knows two
roles, READER and OWNER; they are memdash's viewer and admin. memdash's own role names
(viewer, editor, compliance, admin) are accepted too, in any case, and answers spell a role as
Mem0 does where Mem0 has it ("READER", "OWNER") and upper-cased otherwise ("EDITOR",
"COMPLIANCE"), with memdash's name beside it as `memdash_role`.

Every change is a Membership save or delete, so the audit trail's member.add, member.role and
member.remove rows come from its signals (audit.signals). Two rules hold throughout:

- a project keeps an admin: removing or demoting its last admin is a Conflict;
- adding an email no dashboard user has creates an invited user (username = the email, no
  usable password, active), who can sign in once an admin sets a password.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from core.errors import Conflict, InvalidRequest, NotFound
from tenancy.models import Membership, Project, Role

MEM0_ROLES: dict[str, str] = {"READER": Role.VIEWER.value, "OWNER": Role.ADMIN.value}
MEM0_NAMES: dict[str, str] = {role: name for name, role in MEM0_ROLES.items()}
ACCEPTED_ROLES = (*MEM0_ROLES, *Role.values)
USERNAME_MAX = 150


@dataclass(frozen=True)
class Added:
    """The outcome of an add: the memberships made, and whether the user was invited."""

    memberships: list[Membership]
    invited: bool


def parse_role(value: Any) -> str:
    """The memdash role a Mem0 or memdash role name means; InvalidRequest naming the accepted
    values otherwise."""
    if isinstance(value, str):
        name = value.strip()
        if name.upper() in MEM0_ROLES:
            return MEM0_ROLES[name.upper()]
        if name.lower() in Role.values:
            return name.lower()
    raise InvalidRequest(
        f"role must be one of {', '.join(ACCEPTED_ROLES)} (any case; READER is viewer and "
        "OWNER is admin)."
    )


def mem0_role(role: str) -> str:
    """A memdash role as Mem0 spells it: READER, OWNER, or the upper-cased memdash name."""
    return MEM0_NAMES.get(role, role.upper())


def member_payload(user: User, role: str) -> dict[str, str]:
    return {
        "username": user.get_username(),
        "email": user.email,
        "role": mem0_role(role),
        "memdash_role": role,
    }


def project_members(project: Project) -> list[dict[str, str]]:
    """The project's members as Mem0 lists them, in username order."""
    memberships = project.memberships.select_related("user").order_by("user__username")
    return [member_payload(m.user, m.role) for m in memberships]


def organization_members(projects: Iterable[Project]) -> list[dict[str, str]]:
    """Everyone with a membership in any of `projects`, with their highest role among them."""
    highest: dict[int, Membership] = {}
    memberships = Membership.objects.filter(project__in=list(projects)).select_related("user")
    for membership in memberships:
        best = highest.get(membership.user_id)
        if best is None or Role.rank(membership.role) > Role.rank(best.role):
            highest[membership.user_id] = membership
    ordered = sorted(highest.values(), key=lambda m: m.user.get_username())
    return [member_payload(m.user, m.role) for m in ordered]


def clean_email(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest("email is required: the member's email address.")
    email = value.strip()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise InvalidRequest(f"{email[:100]!r} is not a valid email address.") from exc
    return email


def find_user(email: str) -> User | None:
    """The dashboard user with this email (any case); Conflict when several share it."""
    users = list(User.objects.filter(email__iexact=email)[:2])
    if len(users) > 1:
        raise Conflict(
            f"Several dashboard users have the email {email}; give each its own email "
            "(Django admin) before managing their memberships by email."
        )
    return users[0] if users else None


def _invite(email: str) -> User:
    """A user who can sign in once an admin sets a password (the dashboard or `changepassword`)."""
    if len(email) > USERNAME_MAX:
        raise InvalidRequest(
            f"An invited user's username is their email, at most {USERNAME_MAX} characters; "
            f"this one has {len(email)}."
        )
    named = User.objects.filter(username__iexact=email).first()
    if named is not None and named.email.lower() == email.lower():
        return named  # invited by a concurrent add (to other projects) since find_user looked
    if named is not None:
        raise Conflict(
            f"A dashboard user named {email} exists with another email address; set that "
            "user's email, or add the member by the email it has."
        )
    user = User(username=email, email=email, is_active=True)
    user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        # A concurrent add (to other projects, which hold other locks) invited the same email
        # between the check above and this insert; its user is the one to add.
        return User.objects.get(username__iexact=email)
    return user


def _lock(projects: list[Project]) -> None:
    """Lock the projects' rows (in id order, so two callers cannot deadlock) until commit."""
    ids = sorted(p.pk for p in projects)
    list(Project.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))


def _membership(project: Project, user: User | None, email: str) -> Membership:
    found = (
        Membership.objects.select_for_update(of=("self",))
        .filter(project=project, user=user)
        .select_related("user", "project")
        .first()
        if user is not None
        else None
    )
    if found is None:
        raise NotFound(f"{email} is not a member of project {project.name!r}.")
    return found


def _keep_an_admin(membership: Membership) -> None:
    """Conflict when `membership` is its project's last admin (the caller removes or demotes it)."""
    if membership.role != Role.ADMIN:
        return
    admins = list(
        Membership.objects.select_for_update()
        .filter(project_id=membership.project_id, role=Role.ADMIN)
        .values_list("pk", flat=True)
    )
    if admins == [membership.pk]:
        raise Conflict(
            f"{membership.user.get_username()} is the last admin of project "
            f"{membership.project.name!r}; make someone else admin first (a project must keep "
            "an admin)."
        )


@transaction.atomic
def add_member(projects: Iterable[Project], email: Any, role: Any = "READER") -> Added:
    """Make the user with `email` a member of each of `projects` where they are not one yet.

    Conflict when they already are a member of every one. An email no user has gets an invited
    user (see the module docstring).
    """
    email = clean_email(email)
    role = parse_role(role)
    projects = list(projects)
    # Concurrent adds to the same projects wait here, so the second sees the first's member
    # (a Conflict) instead of inserting the same user or membership twice.
    _lock(projects)
    user = find_user(email)
    missing = projects
    if user is not None:
        members_of = set(
            Membership.objects.filter(user=user, project__in=projects).values_list(
                "project_id", flat=True
            )
        )
        missing = [p for p in projects if p.pk not in members_of]
    if not missing:
        where = f"project {projects[0].name!r}" if len(projects) == 1 else "every project here"
        raise Conflict(f"{email} is already a member of {where}; change their role instead.")
    invited = user is None
    user = user or _invite(email)
    made = [Membership.objects.create(user=user, project=p, role=role) for p in missing]
    return Added(made, invited)


@transaction.atomic
def change_role(projects: Iterable[Project], email: Any, role: Any) -> list[Membership]:
    """Give the user with `email` the role `role` in each of `projects` they are a member of.

    NotFound when they are a member of none; Conflict when it would demote a project's last admin.
    """
    email = clean_email(email)
    role = parse_role(role)
    memberships = _memberships_of(projects, email)
    for membership in memberships:
        if membership.role == role:
            continue
        if role != Role.ADMIN:
            _keep_an_admin(membership)
        membership.role = role
        # A model save, not an update(): the audit trail's member.role row is its signal's.
        membership.save(update_fields=["role"])
    return memberships


@transaction.atomic
def remove_member(projects: Iterable[Project], email: Any) -> list[Membership]:
    """Remove the user with `email` from each of `projects` they are a member of (their account
    stays). NotFound when they are a member of none; Conflict for a project's last admin."""
    email = clean_email(email)
    memberships = _memberships_of(projects, email)
    for membership in memberships:
        _keep_an_admin(membership)
        membership.delete()
    return memberships


def _memberships_of(projects: Iterable[Project], email: str) -> list[Membership]:
    projects = list(projects)
    user = find_user(email)
    if len(projects) == 1:
        return [_membership(projects[0], user, email)]
    found = (
        list(
            Membership.objects.select_for_update(of=("self",))
            .filter(user=user, project__in=projects)
            .select_related("user", "project")
            .order_by("project__name")
        )
        if user is not None
        else []
    )
    if not found:
        raise NotFound(f"{email} is not a member of any project here.")
    return found
