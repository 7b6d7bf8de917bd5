"""API permissions: a key's role must reach what the view requires for the method."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework import permissions
from rest_framework.request import Request

from tenancy.models import ApiKey, Role

if TYPE_CHECKING:
    # Not at run time: DRF's APIView loads this module while rest_framework.views is half imported.
    from rest_framework.views import APIView

READ_METHODS = ("GET", "HEAD", "OPTIONS")


def required_role(view: APIView, method: str) -> str:
    """The role a view needs for a method: `required_roles` on the view, else viewer for reads
    and editor for writes."""
    explicit: dict[str, str] = getattr(view, "required_roles", {})
    if method in explicit:
        return explicit[method]
    return Role.VIEWER if method in READ_METHODS else Role.EDITOR


def role_refusal(key: ApiKey, needed: str) -> str | None:
    """Why `key` may not do what needs the role `needed`, or None when it may (the API and the
    MCP tools say it the same way)."""
    if Role.allows(key.role, needed):
        return None
    return f"This API key has the {key.role} role; this operation needs {needed}."


class HasProjectRole(permissions.BasePermission):
    message = "Your API key's role does not allow this operation."

    def has_permission(self, request: Request, view: APIView) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        refusal = role_refusal(key, required_role(view, request.method or "GET"))
        if refusal:
            self.message = refusal
            return False
        return True
