"""Tenancy: organizations own projects; every memory belongs to exactly one project.

Callers reach a project either with an API key (the API) or as a dashboard user with a
Membership (the dashboard). Both carry a Role, and both are checked the same way.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models
from django.utils import timezone


def _public_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


def new_org_id() -> str:
    return _public_id("org")


def new_project_id() -> str:
    return _public_id("proj")


class Role(models.TextChoices):
    """What a caller may do inside a project. Each role includes the ones before it."""

    VIEWER = "viewer", "Viewer (read only)"
    EDITOR = "editor", "Editor (read and write memories)"
    COMPLIANCE = "compliance", "Compliance (also erasures and data-subject exports)"
    ADMIN = "admin", "Admin (also keys and project settings)"

    @classmethod
    def rank(cls, role: str) -> int:
        # The order of definition: viewer < editor < compliance < admin.
        return cls.values.index(role)

    @classmethod
    def allows(cls, role: str, required: str) -> bool:
        return cls.rank(role) >= cls.rank(required)


class PiiMode(models.TextChoices):
    """What a write of memory text does with the personal data found in it (memories.pii)."""

    FLAG = "flag", "Flag: store the text, record the kinds found"
    REDACT = "redact", "Redact: store the text with <PHONE>, <EMAIL>... in their place"
    REJECT = "reject", "Reject: refuse the write (400 naming the kinds)"


class Attribution(models.TextChoices):
    """Whose memory a message of an add becomes when the call names several entities.

    The two Mem0 guides disagree: the platform guide files user messages under user_id and
    assistant messages under agent_id; the entity-scoping guide (and integrations such as
    mem0-strands) expect every memory to carry all the ids of the call, so that
    AND(user_id, agent_id) finds it.
    """

    SPEAKER = "speaker", "By speaker: user messages under user_id, assistant ones under agent_id"
    ALL_IDS = "all_ids", "All ids: every memory carries every id of the call"


class Organization(models.Model):
    """A tenant: a company or team. Owns projects."""

    public_id = models.CharField(max_length=40, unique=True, default=new_org_id, editable=False)
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Project(models.Model):
    """An isolated memory space. API keys and dashboard memberships grant access to one."""

    public_id = models.CharField(max_length=40, unique=True, default=new_project_id, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="projects"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    custom_instructions = models.TextField(blank=True, default="")
    agent_custom_instructions = models.TextField(blank=True, default="")
    # Mem0 project flags memdash accepts and reports but does not act on yet
    # (multilingual, decay, memory_depth, usecase_setting, enable_graph, version, ...).
    options = models.JSONField(default=dict, blank=True)
    pii_mode = models.CharField(max_length=10, choices=PiiMode, default=PiiMode.FLAG)
    attribution = models.CharField(max_length=10, choices=Attribution, default=Attribution.SPEAKER)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="project_name_unique_in_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization.name} / {self.name}"


class Membership(models.Model):
    """A dashboard user's role in one project."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role, default=Role.VIEWER)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The dashboard's remembered choices for this user in this project, such as the memory
    # table's optional columns ({"memory_columns": ["agent_id", "run_id"]}).
    preferences = models.JSONField(default=dict, blank=True, db_default={})

    class Meta:
        ordering = ["project__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "project"], name="membership_unique_per_project"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def active(self) -> ApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """A secret that authenticates API calls for one project.

    Only a SHA-256 hash is stored; the key itself is shown once, at creation. The prefix stays
    visible so people can tell their keys apart.
    """

    KEY_PREFIX = "m0-"
    PREFIX_LENGTH = 11

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200, blank=True, default="")
    prefix = models.CharField(max_length=20, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    role = models.CharField(max_length=10, choices=Role, default=Role.EDITOR)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.project})"

    @classmethod
    def generate(
        cls,
        *,
        project: Project,
        role: str = Role.EDITOR,
        name: str = "",
        created_by: User | None = None,
    ) -> tuple[ApiKey, str]:
        """Create a key and return it with the raw secret, which is not stored anywhere."""
        raw = cls.KEY_PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(
            project=project,
            name=name,
            prefix=raw[: cls.PREFIX_LENGTH],
            key_hash=hash_key(raw),
            role=role,
            created_by=created_by,
        )
        return key, raw

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def actor(self) -> str:
        """How history rows name this key."""
        return f"api-key:{self.prefix}"


class PasswordChangeRequired(models.Model):
    """A dashboard user who must choose a new password before anything else: the demo admin,
    whose first password was printed on a terminal. The row goes when the password changes
    (tenancy.passwords)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    def __str__(self) -> str:
        return f"{self.user} must change their password"
