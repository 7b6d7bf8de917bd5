"""The load benchmark: a short run against a real gunicorn reports every operation and finds
every acknowledged write; the check afterwards catches a lost one. Never timings."""

from __future__ import annotations

import json
import random
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from bench import load
from memories.models import EMBEDDING_DIMENSIONS, Memory
from tenancy.models import Project


@pytest.mark.django_db(transaction=True)
def test_a_short_run_reports_each_operation_and_loses_nothing(tmp_path):
    out = StringIO()
    report = tmp_path / "load.json"

    call_command(
        "benchmark_load", clients=3, seconds=3, preload=2, json_path=str(report), stdout=out
    )

    result = json.loads(report.read_text())
    assert result["errors"] == 0, result["error_samples"]
    assert result["lost_writes"] == 0
    assert result["writes_checked"] >= 6
    assert set(result["operations"]) == set(load.OPERATIONS)
    assert result["requests"] == sum(row["calls"] for row in result["operations"].values())
    printed = out.getvalue()
    assert "mix add 20, search 30, list 15, get 15, update 10, delete 10" in printed
    assert "requests/s over" in printed and "acknowledged writes lost" in printed
    # Its project is dropped afterwards.
    assert not Project.objects.filter(name__startswith="load-").exists()


def test_the_mix_is_checked():
    assert load.parse_mix("add=1,search=3") == {"add": 1, "search": 3}
    for bad in ("add=x", "fly=3", "add=0,search=0", "add"):
        with pytest.raises(ValueError):
            load.parse_mix(bad)
    with pytest.raises(CommandError, match="mix entry 'fly=3'"):
        call_command("benchmark_load", mix="fly=3", stdout=StringIO())


@pytest.mark.django_db
def test_the_check_finds_missing_changed_and_resurrected_writes(project):
    kept, changed, back = (
        Memory.objects.create(
            project=project, memory=text, user_id="u", embedding=[0.1] * EMBEDDING_DIMENSIONS
        )
        for text in ("kept", "changed on the server", "deleted, yet here")
    )
    client = load.Client(0, random.Random(0))
    client.live = {str(kept.id): "kept", str(changed.id): "what the client wrote"}
    client.live["00000000-0000-0000-0000-000000000001"] = "never stored"
    client.deleted = {str(back.id)}

    found = load.verify(project.pk, [client])

    assert found.checked == 4
    assert found.missing == ["00000000-0000-0000-0000-000000000001"]
    assert found.wrong_text == [str(changed.id)]
    assert found.resurrected == [str(back.id)]
    # An id whose last write failed is nobody's to judge.
    client.unknown = {str(changed.id), "00000000-0000-0000-0000-000000000001", str(back.id)}
    assert load.verify(project.pk, [client]).lost == 0
