"""benchmark_dashboard --columns: the same cases, with the table's five optional columns."""

from io import StringIO

import pytest
from django.core.management import call_command

from tenancy.models import Membership


@pytest.mark.django_db
def test_columns_option_renders_the_five_optional_columns():
    out = StringIO()
    call_command(
        "benchmark_dashboard", "--columns", memories=300, requests=1, stdout=out, stderr=StringIO()
    )
    assert "memories page with five optional columns" in out.getvalue()
    membership = Membership.objects.get(user__username="dashboard-benchmark")
    assert len(membership.preferences["memory_columns"]) == 5
