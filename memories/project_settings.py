"""Project settings: custom instructions and categories, Mem0's other project flags, and
memdash's own: `pii_mode` (memories.pii: flag, redact or reject personal data on write) and
`attribution` (tenancy.models.Attribution: whose memory each message of an add becomes).

The API (memories.api.project) and the dashboard's settings page both go through update_project.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from audit import log as audit_log
from core.errors import InvalidRequest
from memories.categories import category_limit_problem
from memories.models import Category
from tenancy.models import Attribution, PiiMode, Project

TEXT_SETTINGS = ("name", "description", "custom_instructions", "agent_custom_instructions")
# Flags Mem0 projects carry; memdash stores and reports them.
OPTION_SETTINGS = {
    "multilingual": bool,
    "decay": bool,
    "enable_graph": bool,
    "memory_depth": str,
    "usecase_setting": str,
    "version": str,
    "inclusion_prompt": str,
    "exclusion_prompt": str,
    "update_custom_instructions": str,
    "summary_custom_instructions": str,
}
# memdash's own settings, each one of a set of values.
CHOICE_SETTINGS = {"pii_mode": PiiMode, "attribution": Attribution}


def custom_categories(project: Project) -> list[dict[str, str]]:
    """The project's categories as Mem0 shows them: [{name: description}, ...]."""
    return [{c.name: c.description} for c in project.categories.all()]


def project_payload(project: Project, *, role: str | None = None) -> dict[str, Any]:
    """The project as Mem0's project endpoint shows it (settings, members, flags)."""
    options = project.options or {}
    payload = {
        "project_id": project.public_id,
        "org_id": project.organization.public_id,
        "name": project.name,
        "description": project.description,
        "created_at": project.created_at.isoformat(),
        "updated_at": project.updated_at.isoformat(),
        "members": [
            {"username": m.user.get_username(), "email": m.user.email, "role": m.role}
            for m in project.memberships.select_related("user")
        ],
        "custom_instructions": project.custom_instructions or None,
        "agent_custom_instructions": project.agent_custom_instructions or None,
        "custom_categories": custom_categories(project),
        "is_default": False,
        "user_role": role,
        "pii_mode": project.pii_mode,
        "attribution": project.attribution,
    }
    for name in OPTION_SETTINGS:
        payload[name] = options.get(name)
    return payload


def parse_categories(value: Any) -> list[tuple[str, str]]:
    """Accept [{name: description}, ...] or plain names (project update allows both)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRequest("custom_categories must be a list")
    parsed: list[tuple[str, str]] = []
    for item in value:
        if isinstance(item, str) and item.strip():
            parsed.append((item.strip(), ""))
        elif isinstance(item, dict) and item:
            for name, description in item.items():
                if (
                    not isinstance(name, str)
                    or not name.strip()
                    or not isinstance(description, str | type(None))
                ):
                    raise InvalidRequest(
                        "custom_categories entries must map a name to a description"
                    )
                parsed.append((name.strip(), description or ""))
        else:
            raise InvalidRequest(
                'custom_categories entries must be names or {"name": "description"} objects'
            )
    names = [name for name, _ in parsed]
    if len(set(names)) != len(names):
        raise InvalidRequest("custom_categories has duplicate names")
    problem = category_limit_problem(parsed)
    if problem:
        raise InvalidRequest(f"custom_categories {problem}")
    return parsed


@transaction.atomic
def update_project(project: Project, data: dict[str, Any]) -> Project:
    """Apply the settings Mem0's project update accepts; unknown keys are ignored. What changed
    goes into the audit trail, with its value before and after."""
    before = _snapshot(project)
    fields = []
    for name in TEXT_SETTINGS:
        if name in data:
            value = data[name]
            if value is not None and not isinstance(value, str):
                raise InvalidRequest(f"{name} must be a string")
            if name == "name" and not (value or "").strip():
                raise InvalidRequest("name must not be empty")
            limit = getattr(Project._meta.get_field(name), "max_length", None)
            if limit and value and len(value) > limit:
                raise InvalidRequest(f"{name} has {len(value)} characters; at most {limit}")
            setattr(project, name, value or "")
            fields.append(name)
    for name, kind in OPTION_SETTINGS.items():
        if name in data:
            value = data[name]
            if value is not None and not isinstance(value, kind):
                raise InvalidRequest(
                    f"{name} must be {'true or false' if kind is bool else 'a string'}"
                )
            project.options = {**(project.options or {}), name: value}
            if "options" not in fields:
                fields.append("options")
    for name, choices in CHOICE_SETTINGS.items():
        if name in data:
            if data[name] not in choices.values:
                raise InvalidRequest(f"{name} must be one of: {', '.join(choices.values)}")
            setattr(project, name, data[name])
            fields.append(name)
    if "custom_categories" in data:
        categories = parse_categories(data["custom_categories"])
        Category.objects.filter(project=project).delete()
        Category.objects.bulk_create(
            [
                Category(project=project, name=n, description=d, position=i)
                for i, (n, d) in enumerate(categories)
            ]
        )
    if fields:
        project.save(update_fields=[*fields, "updated_at"])
    after = _snapshot(project)
    changed = {k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]}
    if changed:
        audit_log.change(
            "settings.change", project_id=project.pk, target=project.public_id, details=changed
        )
    return project


def _snapshot(project: Project) -> dict[str, Any]:
    """The settings as the audit trail compares them."""
    return {
        **{name: getattr(project, name) for name in TEXT_SETTINGS},
        **{name: (project.options or {}).get(name) for name in OPTION_SETTINGS},
        **{name: getattr(project, name) for name in CHOICE_SETTINGS},
        "custom_categories": custom_categories(project),
    }
