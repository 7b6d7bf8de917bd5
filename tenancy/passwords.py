"""Dashboard passwords: the forced change after a printed (demo) password, the record of every
change, and the login lockout of django-axes (its client address and its page).

A user with a PasswordChangeRequired row is sent to the password change page after logging in,
and on every dashboard page until the password changes. The login view flags the session, so
the check costs no query per request.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from audit import log
from core.middleware import API_PREFIXES
from tenancy.models import PasswordChangeRequired

# The session flag the login view sets for a user whose password must change.
MUST_CHANGE = "memdash_must_change_password"


def generate_password() -> str:
    """A random password to print once (about 96 bits; no characters that look alike)."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(6)) for _ in range(3))


def require_change(user: User) -> None:
    """Make `user` choose a new password at their next login."""
    PasswordChangeRequired.objects.get_or_create(user=user)


def must_change(user: User) -> bool:
    return PasswordChangeRequired.objects.filter(user=user).exists()


def flag_session(request: HttpRequest) -> bool:
    """After a login: note in the session whether the password must change first; say if so."""
    if must_change(request.user):  # type: ignore[arg-type]
        request.session[MUST_CHANGE] = True
        return True
    request.session.pop(MUST_CHANGE, None)
    return False


def password_changed(request: HttpRequest) -> None:
    """The user of `request` chose a new password: lift the forced change and log it."""
    user = request.user
    PasswordChangeRequired.objects.filter(user=user).delete()  # type: ignore[misc]
    request.session.pop(MUST_CHANGE, None)
    log.change("password.change", project_id=None, target=user.get_username())


class PasswordChangeRequiredMiddleware:
    """Sends a user whose session is flagged (flag_session) to the password change page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The path first: API requests never touch the session (that would add Vary: Cookie).
        if not self._exempt(request.path_info) and request.session.get(MUST_CHANGE):
            target = reverse("password_change")
            if getattr(request, "htmx", False):
                return HttpResponseClientRedirect(target)
            messages.info(request, "Choose a new password before you go on.")
            return redirect(target)
        return self.get_response(request)

    @staticmethod
    def _exempt(path: str) -> bool:
        return (
            path in (reverse("password_change"), reverse("logout"), reverse("login"))
            or path.lower().startswith(API_PREFIXES)
            or path.startswith("/static/")
        )


# --- login rate limiting (django-axes: settings AXES_*) -------------------------------------


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any]
) -> HttpResponse:
    """The page of a refused login (HTTP 429). The attempt that locks the pair is logged."""
    username = get_client_username(request, credentials) or ""
    limit = get_failure_limit(request, credentials)
    cool_off = get_cool_off(request)
    minutes = int(cool_off.total_seconds() // 60) if cool_off else None
    # axes counts failures only while the pair is not locked yet: a count means this very
    # attempt reached the limit (later ones, refused unchecked, have none).
    if getattr(request, "axes_failures_since_start", None) is not None:
        log.change(
            "login.locked",
            project_id=None,
            target=username,
            details={"failures": limit, "minutes": minutes},
        )
    return render(
        request,
        "registration/locked_out.html",
        {"username": username, "failure_limit": limit, "minutes": minutes},
        status=429,
    )
