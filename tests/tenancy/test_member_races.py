"""Concurrent member adds (found by the schemathesis run: two adds of the same new email at once
inserted its invited user twice, and the second answered 500)."""

import threading

import pytest
from django.contrib.auth.models import User
from django.db import connection

from tenancy.models import Membership, Role
from tenancy.services import create_api_key, get_or_create_project
from tests.conftest import api_client

pytestmark = pytest.mark.django_db(transaction=True)

ORGS = "/api/v1/orgs/organizations/"


def members_url(project):
    return f"{ORGS}{project.organization.public_id}/projects/{project.public_id}/members/"


def add_at_once(requests: list[tuple[object, str]], email: str) -> list[int]:
    """POST each (client, url) add of `email` from its own thread, released together."""
    barrier = threading.Barrier(len(requests))
    statuses: list[int] = []

    def add(client, url):
        try:
            barrier.wait()
            response = client.post(url, {"email": email, "role": "READER"}, format="json")
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_adding_the_same_new_email_twice_at_once_adds_it_once_and_conflicts_once():
    project = get_or_create_project("race-bot", organization="Race Inc")
    client = api_client(create_api_key(project, role=Role.ADMIN, name="race key"))
    url = members_url(project)
    for n in range(5):
        email = f"racer-{n}@example.com"
        assert add_at_once([(client, url), (client, url)], email) == [200, 409]
        assert User.objects.filter(username=email).count() == 1
        assert Membership.objects.filter(project=project, user__username=email).count() == 1


def test_inviting_one_email_to_two_projects_at_once_makes_one_user_with_both_memberships():
    first = get_or_create_project("race-one", organization="Race Inc")
    second = get_or_create_project("race-two", organization="Race Inc")
    one = api_client(create_api_key(first, role=Role.ADMIN, name="one"))
    two = api_client(create_api_key(second, role=Role.ADMIN, name="two"))
    for n in range(5):
        email = f"both-{n}@example.com"
        requests = [(one, members_url(first)), (two, members_url(second))]
        assert add_at_once(requests, email) == [200, 200]
        user = User.objects.get(username=email)
        assert set(user.memberships.values_list("project", flat=True)) == {first.pk, second.pk}
