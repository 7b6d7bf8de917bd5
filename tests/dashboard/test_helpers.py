"""The dashboard's small building blocks: word diffs, keyset pages, counts, the filter form."""

import pytest
from django.http import QueryDict

from core.keyset import InvalidCursor, decode_cursor, keyset_page, planner_estimate
from core.templatetags.dashboard import word_diff
from memories.forms import MemoryFilterForm
from memories.models import Memory
from tests.dashboard.conftest import bulk_memories


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "likes green tea",
            "likes black tea",
            [("equal", "likes "), ("delete", "green"), ("insert", "black"), ("equal", " tea")],
        ),
        (None, "new text", [("insert", "new text")]),
        ("old text", None, [("delete", "old text")]),
        ("same", "same", [("equal", "same")]),
        ("a b", "a b c", [("equal", "a b"), ("insert", " c")]),
    ],
)
def test_word_diff(old, new, expected):
    assert word_diff(old, new) == expected


def test_word_diff_joins_back_to_both_texts():
    old, new = "Alex, who is 30, likes Rome.", "Alex (31) likes Rome and Paris!"
    segments = word_diff(old, new)
    assert "".join(t for op, t in segments if op != "insert") == old
    assert "".join(t for op, t in segments if op != "delete") == new


def test_word_diff_of_huge_texts_stays_cheap():
    old, new = "word " * 5000, "other " * 5000
    assert [op for op, _ in word_diff(old, new)] == ["delete", "insert"]


@pytest.mark.django_db
def test_keyset_page_handles_equal_timestamps(project):
    rows = bulk_memories(project, 7, user_id="same")
    Memory.objects.update(created_at=rows[0].created_at)
    queryset = Memory.objects.all()
    seen = []
    page = keyset_page(queryset, key="created_at", size=3)
    while True:
        seen += [m.pk for m in page.rows]
        if not page.older:
            break
        page = keyset_page(queryset, key="created_at", size=3, older=page.older)
    assert sorted(seen) == sorted(m.pk for m in rows)
    assert len(seen) == 7


def test_bad_cursors_raise_invalid_cursor():
    for token in ["", "abc", "W10", "WyJ4IiwieSJd"]:
        with pytest.raises(InvalidCursor):
            decode_cursor(token, Memory)


@pytest.mark.django_db
def test_planner_estimate_is_a_number(project):
    bulk_memories(project, 10, user_id="e")
    assert planner_estimate(Memory.objects.filter(project=project)) >= 1


def test_filter_form_canonical_query_drops_empties_and_folds_the_add_row():
    form = MemoryFilterForm(
        QueryDict("q=&user_id=a&user_id=a&add_field=agent_id&add_value=bot&sort=created&older=x")
    )
    assert form.is_valid()
    assert form.canonical_query().urlencode() == "user_id=a&agent_id=bot"


def test_filter_form_metadata_numbers_match_numbers_and_strings():
    form = MemoryFilterForm(QueryDict("meta=tier%3D1&meta=vip%3Dtrue&meta=name%3Dbob"))
    assert form.is_valid()
    assert form.filter_dict() == {
        "AND": [
            {"metadata": {"tier": {"in": [1, "1"]}}},
            {"metadata": {"vip": {"in": [True, "true"]}}},
            {"metadata": {"name": "bob"}},
        ]
    }


def test_filter_form_limits_values():
    query = QueryDict(mutable=True)
    query.setlist("user_id", [f"u{i}" for i in range(25)])
    form = MemoryFilterForm(query)
    assert not form.is_valid()
    assert "at most 20 values" in str(form.errors)
