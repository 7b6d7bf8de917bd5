from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from tenancy.models import Membership

pytestmark = pytest.mark.django_db


def test_add_member_creates_the_user_and_sets_the_role():
    out = StringIO()
    call_command(
        "add_member",
        "sam",
        "--project",
        "p1",
        "--org",
        "O",
        "--role",
        "editor",
        "--password",
        "s3cret-pass",
        stdout=out,
    )
    user = get_user_model().objects.get(username="sam")
    assert user.check_password("s3cret-pass")
    assert Membership.objects.get(user=user).role == "editor"
    assert "sam is editor of O / p1" in out.getvalue()
    call_command(
        "add_member", "sam", "--project", "p1", "--org", "O", "--role", "admin", stdout=StringIO()
    )
    assert Membership.objects.get(user=user).role == "admin"
