"""Changes recorded from Django's signals: logins and logouts, and membership and API key
changes wherever they are made (the dashboard, the API, the admin, a management command).

Senders are named lazily ("memdash.Membership"): this app sits below tenancy and imports none
of it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save, pre_save

from audit import log
from audit.context import ANONYMOUS, current, user_actor

MEMBERSHIP = "memdash.Membership"
API_KEY = "memdash.ApiKey"


def connect() -> None:
    user_logged_in.connect(_logged_in, dispatch_uid="audit-login")
    user_logged_out.connect(_logged_out, dispatch_uid="audit-logout")
    user_login_failed.connect(_login_failed, dispatch_uid="audit-login-failed")
    pre_save.connect(_remember_old, sender=MEMBERSHIP, dispatch_uid="audit-member-pre")
    post_save.connect(_member_saved, sender=MEMBERSHIP, dispatch_uid="audit-member-save")
    post_delete.connect(_member_deleted, sender=MEMBERSHIP, dispatch_uid="audit-member-delete")
    pre_save.connect(_remember_old, sender=API_KEY, dispatch_uid="audit-key-pre")
    post_save.connect(_key_saved, sender=API_KEY, dispatch_uid="audit-key-save")
    post_delete.connect(_key_deleted, sender=API_KEY, dispatch_uid="audit-key-delete")


# --- logins ----------------------------------------------------------------------------------


def _logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # The row's own context, not update(): outside a request (force_login, a shell) there is no
    # request context to reset, and the user would name every later change of this thread.
    context = replace(current(), actor=user_actor(user))
    log.change("login", project_id=None, target=user.get_username(), context=context)


def _logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        log.change("logout", project_id=None, target=user.get_username())


def _login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any) -> None:
    # Django hands the credentials with the password already masked; only the name is kept.
    username = str(credentials.get("username") or "")
    context = replace(current(), actor=ANONYMOUS)
    log.change("login.failed", project_id=None, target=username, context=context)


# --- members and keys ------------------------------------------------------------------------


def _remember_old(sender: Any, instance: Any, **kwargs: Any) -> None:
    old = sender.objects.filter(pk=instance.pk).first() if instance.pk else None
    instance._audit_old = old


def _member_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    username = instance.user.get_username()
    old = getattr(instance, "_audit_old", None)
    if created:
        log.change(
            "member.add",
            project_id=instance.project_id,
            target=username,
            details={"role": instance.role},
        )
    elif old is not None and old.role != instance.role:
        log.change(
            "member.role",
            project_id=instance.project_id,
            target=username,
            details={"before": old.role, "after": instance.role},
        )


def _member_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    log.change(
        "member.remove",
        project_id=instance.project_id,
        target=instance.user.get_username(),
        details={"role": instance.role},
    )


def _key_details(key: Any) -> dict[str, Any]:
    return {"name": key.name, "prefix": key.prefix, "role": key.role}


def _key_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    old = getattr(instance, "_audit_old", None)
    if created:
        log.change(
            "key.create", project_id=instance.project_id, target=instance.prefix,
            details=_key_details(instance),
        )  # fmt: skip
        return
    if old is None:
        return
    if old.revoked_at is None and instance.revoked_at is not None:
        log.change(
            "key.revoke", project_id=instance.project_id, target=instance.prefix,
            details=_key_details(instance),
        )  # fmt: skip
    elif (old.name, old.role) != (instance.name, instance.role):
        log.change(
            "key.change",
            project_id=instance.project_id,
            target=instance.prefix,
            details={
                "before": {"name": old.name, "role": old.role},
                "after": {"name": instance.name, "role": instance.role},
            },
        )


def _key_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    log.change(
        "key.delete", project_id=instance.project_id, target=instance.prefix,
        details=_key_details(instance),
    )  # fmt: skip
