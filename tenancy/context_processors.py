"""Template context every dashboard page needs: the current membership and the switcher."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from tenancy.models import ApiKey, Membership, Role

# Which navigation entry a page belongs to.
SECTIONS = {
    "memories:list": "memories",
    "memories:detail": "memories",
    "memories:edit": "memories",
    "memories:delete": "memories",
    "memories:bulk_delete": "memories",
    "entities:list": "entities",
    "entities:detail": "entities",
    "entities:delete": "entities",
    "memories:activity": "activity",
    "memories:event": "activity",
    "memories:compliance": "compliance",
    "memories:person": "compliance",
    "memories:holds": "compliance",
    "memories:hold_release": "compliance",
    "memories:trash": "trash",
    "memories:trash_restore": "trash",
    "memories:trash_purge": "trash",
    "memories:exports": "compliance",
    "memories:export": "compliance",
    "memories:erasures": "compliance",
    "memories:erasure_new": "compliance",
    "memories:erasure": "compliance",
    "api_keys": "keys",
    "audit_log": "audit",
    "project_settings": "settings",
}


def dashboard(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    user = getattr(request, "user", None)

    def memberships() -> list[Membership]:
        # Lazy: only full pages render the switcher, so fragments never pay for this query.
        if user is None or not user.is_authenticated:
            return []
        return list(
            Membership.objects.filter(user=user)
            .select_related("project__organization")
            .order_by("project__organization__name", "project__name")
        )

    role = membership.role if membership else None
    match = getattr(request, "resolver_match", None)
    return {
        "section": SECTIONS.get(match.view_name, "") if match else "",
        "membership": membership,
        "current_project": membership.project if membership else None,
        "memberships": SimpleLazyObject(memberships),
        "can_edit": role is not None and Role.allows(role, Role.EDITOR),
        "can_erase": role is not None and Role.allows(role, Role.COMPLIANCE),
        "is_admin": role is not None and Role.allows(role, Role.ADMIN),
        "can_audit": role is not None and Role.allows(role, Role.COMPLIANCE),
        # How long deletes stay restorable (memories.trash); 0: the trash is off.
        "trash_days": settings.MEMDASH_TRASH_DAYS,
        # API keys by the labels history rows and Events name them with (the `actor` tag);
        # read only by pages that show actors, and a project has few keys.
        "key_names": SimpleLazyObject(lambda: _key_names(membership)),
    }


def _key_names(membership: Membership | None) -> dict[str, ApiKey]:
    if membership is None:
        return {}
    return {key.actor: key for key in ApiKey.objects.filter(project_id=membership.project_id)}
