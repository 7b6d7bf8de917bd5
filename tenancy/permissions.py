"""API permissions: a key's role must reach what the view requires for the method."""

from __future__ import annotations

from rest_framework import permissions

from tenancy.models import ApiKey, Role

READ_METHODS = ("GET", "HEAD", "OPTIONS")


def required_role(view, method: str) -> str:
    """The role a view needs for a method: `required_roles` on the view, else viewer for reads
    and editor for writes."""
    explicit = getattr(view, "required_roles", {})
    if method in explicit:
        return explicit[method]
    return Role.VIEWER if method in READ_METHODS else Role.EDITOR


class HasProjectRole(permissions.BasePermission):
    message = "Your API key's role does not allow this operation."

    def has_permission(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        needed = required_role(view, request.method)
        if not Role.allows(key.role, needed):
            self.message = f"This API key has the {key.role} role; this operation needs {needed}."
            return False
        return True
