"""Project members: dashboard users with a role in a project (a Membership), found by email.

The API's member endpoints (tenancy.api.orgs) and the dashboard call these. Mem0 knows two
roles, READER and OWNER; they are memdash's viewer and admin. memdash's own role names
(viewer, editor, compliance, admin) are accepted too, in any case, and answers spell a role as
Mem0 does where Mem0 has it ("READER", "OWNER") and upper-cased otherwise ("EDITOR",
"COMPLIANCE"), with memdash's name beside it as `memdash_role`.

Every change is a Membership save or delete, so the audit trail's member.add, member.role and
member.remove rows come from its signals (audit.signals); a password reset logs
member.password_reset here. Two rules hold throughout:

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

from audit import log as audit_log
from core.errors import Conflict, InvalidRequest, NotFound
from tenancy.models import Membership, Project, Role
from tenancy.passwords import generate_password, require_change

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


# --- the dashboard's members panel (Settings): people found by username or email --------------
#
# Dashboard users need not have an email (the demo's users have none), so the panel names a
# member by username or email and acts on a member by user id. A person the panel creates gets
# a one-time password, shown once to the admin, that they must change at their first login.


@dataclass(frozen=True)
class Joined:
    """The outcome of a dashboard add: the membership, and the one-time password of a user the
    add created (None for an existing user, who keeps their password)."""

    membership: Membership
    password: str | None


def _user_named(name: str) -> User | None:
    """The user whose username is `name` (any case), else the one whose email it is."""
    user = User.objects.filter(username__iexact=name).first()
    if user is None and "@" in name:
        user = find_user(name)
    return user


def _new_user(name: str) -> tuple[User, str]:
    """A user called `name` (an email becomes their email too) with a one-time password."""
    if len(name) > USERNAME_MAX:
        raise InvalidRequest(f"A username has at most {USERNAME_MAX} characters.")
    email = ""
    if "@" in name:
        email = clean_email(name)
    else:
        try:
            User.username_validator(name)
        except ValidationError as exc:
            raise InvalidRequest(
                f"{name[:100]!r} is neither an email address nor a valid username (letters, "
                "digits and @ . + - _ only)."
            ) from exc
    password = generate_password()
    user = User.objects.create_user(username=name, email=email, password=password)
    require_change(user)
    return user, password


@transaction.atomic
def join(project: Project, name_or_email: Any, role: Any) -> Joined:
    """Make the user with this username or email a member of `project` with `role`, creating
    the user (with a one-time password) when there is none. Conflict when already a member."""
    if not isinstance(name_or_email, str) or not name_or_email.strip():
        raise InvalidRequest("Give the person's username or email address.")
    name = name_or_email.strip()
    role = parse_role(role)
    _lock([project])  # two concurrent adds of one person: one member, one Conflict
    user = _user_named(name)
    password = None
    if user is None:
        user, password = _new_user(name)
    elif Membership.objects.filter(project=project, user=user).exists():
        raise Conflict(
            f"{user.get_username()} is already a member of project {project.name!r}; change "
            "their role instead."
        )
    # Saved through the model: the audit trail's member.add row comes from its signal.
    membership = Membership.objects.create(user=user, project=project, role=role)
    return Joined(membership, password)


def member(project: Project, user_id: int, *, lock: bool = False) -> Membership:
    """The project's membership of user `user_id` (with `lock`, locked until commit: inside a
    transaction only); NotFound otherwise."""
    memberships = Membership.objects.select_for_update(of=("self",)) if lock else Membership.objects
    found = (
        memberships.filter(project=project, user_id=user_id)
        .select_related("user", "project")
        .first()
    )
    if found is None:
        raise NotFound("That person is not a member of this project.")
    return found


@transaction.atomic
def set_role(project: Project, user_id: int, role: Any) -> Membership:
    """Give member `user_id` the role `role`; Conflict when it demotes the last admin."""
    role = parse_role(role)
    membership = member(project, user_id, lock=True)
    if membership.role != role:
        if role != Role.ADMIN:
            _keep_an_admin(membership)
        membership.role = role
        membership.save(update_fields=["role"])  # member.role comes from the save signal
    return membership


@transaction.atomic
def leave(project: Project, user_id: int) -> Membership:
    """Remove member `user_id` from `project` (their account stays); Conflict for the last admin."""
    membership = member(project, user_id, lock=True)
    _keep_an_admin(membership)
    membership.delete()  # member.remove comes from the delete signal
    return membership


@transaction.atomic
def reset_password(project: Project, user_id: int, *, by: User) -> str:
    """Give member `user_id` a new one-time password (returned, to be shown once), which they
    must change at their next login; their sessions end, as after any password change.

    Refused (Conflict) for one's own password (the Password page asks for the old one), for
    staff and superusers, and for anyone who is also a member of a project `by` does not
    administer: an admin of one project must not take over an account that reaches others.
    """
    membership = member(project, user_id, lock=True)
    user = membership.user
    if user.pk == by.pk:
        raise Conflict("To change your own password, use the Password page.")
    if user.is_staff or user.is_superuser:
        raise Conflict(
            f"{user.get_username()} is a staff user; their password is changed with "
            "`manage.py changepassword`, not from a project."
        )
    administered = Membership.objects.filter(user=by, role=Role.ADMIN).values("project_id")
    elsewhere = Membership.objects.filter(user=user).exclude(project_id__in=administered)
    if elsewhere.exists():
        raise Conflict(
            f"{user.get_username()} is also a member of projects you do not administer; an "
            "admin of each of them, or `manage.py changepassword`, can reset their password."
        )
    password = generate_password()
    user.set_password(password)
    user.save(update_fields=["password"])
    require_change(user)
    audit_log.change("member.password_reset", project_id=project.pk, target=user.get_username())
    return password
