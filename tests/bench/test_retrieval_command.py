"""The retrieval benchmark on a tiny invented LoCoMo-shaped file: what it stores, what it counts,
and that it cleans up. Never timings."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from bench import retrieval
from memories.models import Memory
from tenancy.models import Project

MINI = Path(__file__).parent / "fixtures" / "locomo-mini.json"


def test_loading_keeps_categories_1_to_4_and_repairs_hand_typed_evidence_ids():
    first, second = retrieval.load(MINI)

    assert first.sample_id == "mini-1"
    assert [t.dia_id for t in first.turns] == ["D1:1", "D1:2", "D1:3", "D2:1", "D2:2", "D2:3"]
    assert first.turns[3].memory_text.startswith("Bo: I sailed the boat")
    assert first.turns[3].said_at == dt.datetime(2024, 4, 21, 18, 40, tzinfo=dt.UTC)
    # Category 5 is left out; "D9:9" names no turn; "D:2:3" means D2:3.
    assert [q.category for q in first.questions] == [4, 4, 1, 2, 3]
    assert first.questions[2].evidence == {"D1:3", "D2:2"}
    assert first.questions[4].evidence == {"D2:3"}
    assert first.without_evidence == 1
    assert len(second.questions) == 2
    assert len(retrieval.load(MINI, 1)) == 1


def test_recall_counts_any_and_all_evidence_at_each_cutoff():
    outcomes = [
        retrieval.Outcome(4, frozenset({"D1"}), ["D1", "D2"], 1.0),
        retrieval.Outcome(1, frozenset({"D1", "D3"}), ["D2", "D1", "D4", "D5", "D6", "D3"], 1.0),
        retrieval.Outcome(4, frozenset({"D9"}), ["D1"], 1.0),
        retrieval.Outcome(2, frozenset({"D1", "D2"}), ["D2", "D1"], 1.0),
    ]

    figures = retrieval.recall(outcomes)

    assert figures == {
        "questions": 4,
        "any@1": 0.5,  # 1st and 4th
        "any@5": 0.75,
        "any@10": 0.75,
        "all@1": 0.25,  # only the 1st: one evidence turn, first
        "all@5": 0.5,  # the 2nd's D3 is 6th
        "all@10": 0.75,
    }


@pytest.mark.django_db
def test_the_command_stores_every_turn_searches_each_question_and_drops_its_projects(tmp_path):
    out = StringIO()
    json_path = tmp_path / "retrieval.json"

    call_command("benchmark_retrieval", locomo=MINI, json_path=str(json_path), stdout=out)

    report = out.getvalue()
    assert "2 conversations, 8 turns (8 memories" in report
    assert "7 questions (1 left out: no evidence turn)" in report
    assert "search latency (embedding included): p50" in report
    figures = json.loads(json_path.read_text())
    assert {name: row["questions"] for name, row in figures["categories"].items()} == {
        "1 multi-hop": 1,
        "2 temporal": 1,
        "3 open-domain": 1,
        "4 single-hop": 4,
    }
    # Each scope holds at most 6 turns, so the top 10 holds them all: every evidence turn is
    # found, which it is only if the turns were stored with their dia_ids in their own scope.
    assert figures["overall"]["any@10"] == 1.0
    assert figures["overall"]["all@10"] == 1.0
    assert 0.0 < figures["overall"]["any@1"] <= figures["overall"]["any@5"] <= 1.0
    assert not Project.objects.filter(name__startswith="bench-retrieval-").exists()


@pytest.mark.django_db
def test_keep_leaves_the_turns_verbatim_with_dia_id_and_session_date():
    call_command("benchmark_retrieval", locomo=MINI, conversations=1, keep=True, stdout=StringIO())

    project = Project.objects.get(name__startswith="bench-retrieval-mini-1-")
    memories = Memory.objects.filter(project=project)
    assert memories.count() == 6
    assert set(memories.values_list("user_id", flat=True)) == {"mini-1"}
    sailed = memories.get(metadata__dia_id="D2:1")
    assert sailed.memory == "Bo: I sailed the boat across the bay to Harwick harbour last Saturday."
    assert sailed.metadata == {
        "dia_id": "D2:1",
        "session": 2,
        "session_date": "6:40 pm on 21 April, 2024",
    }
    assert sailed.created_at == dt.datetime(2024, 4, 21, 18, 40, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_a_file_that_is_not_locomo_is_refused(tmp_path):
    not_a_list = tmp_path / "bad.json"
    not_a_list.write_text('{"conversation": {}}')
    shapeless = tmp_path / "shapeless.json"
    shapeless.write_text('[{"sample_id": "x"}]')

    with pytest.raises(CommandError, match="expected a JSON list"):
        call_command("benchmark_retrieval", locomo=not_a_list, stdout=StringIO())
    with pytest.raises(CommandError, match="not LoCoMo-shaped"):
        call_command("benchmark_retrieval", locomo=shapeless, stdout=StringIO())
    with pytest.raises(CommandError, match="No such file"):
        call_command("benchmark_retrieval", locomo=tmp_path / "missing.json", stdout=StringIO())
    with pytest.raises(CommandError, match="--conversations >= 1"):
        call_command("benchmark_retrieval", locomo=MINI, conversations=0, stdout=StringIO())
