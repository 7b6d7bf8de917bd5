"""The filter language, compiled and run against real PostgreSQL."""

import datetime as dt

import pytest

from memories.attribution import Message, Scope
from memories.filters import FilterError, all_of, compile_filters, conditions
from memories.models import Memory
from memories.services import add_memories

pytestmark = pytest.mark.django_db


def remember(project, text, *, at=None, metadata=None, categories=None, expires=None, **ids):
    outcome = add_memories(
        project,
        messages=[
            Message("user" if "user_id" in ids or "agent_id" not in ids else "assistant", text)
        ],
        scope=Scope(**ids),
        actor="test",
        metadata=metadata,
        expiration_date=expires,
        created_at=at,
    )
    memory = outcome.added[0]
    if categories is not None:
        Memory.objects.filter(pk=memory.pk).update(categories=categories)
    return memory


@pytest.fixture
def world(project):
    """A small set of memories covering every filterable field."""
    return {
        "alex_food": remember(
            project,
            "Alex is vegetarian",
            user_id="alex",
            metadata={"food": "vegan", "level": 3},
            categories=["food", "user_preferences"],
            at=dt.datetime(2024, 7, 20, 8, 30, tzinfo=dt.UTC),
        ),
        "alex_trip": remember(
            project,
            "Planning a trip to Japan",
            user_id="alex",
            run_id="trip-1",
            categories=["travel"],
            at=dt.datetime(2024, 7, 25, tzinfo=dt.UTC),
        ),
        "bob": remember(
            project,
            "Bob plays tennis",
            user_id="bob",
            app_id="ios",
            at=dt.datetime(2024, 8, 2, tzinfo=dt.UTC),
        ),
        "agent": remember(project, "I am a helpful travel agent", agent_id="travel-assistant"),
    }


def ids(project, filters, *, null_scoping=False):
    if null_scoping:
        filters = all_of(filters, compile_filters(filters).null_conditions())
    q = compile_filters(filters).q
    return set(Memory.objects.for_project(project).filter(q).values_list("memory", flat=True))


def test_bare_value_is_equality(project, world):
    assert ids(project, {"user_id": "alex"}) == {"Alex is vegetarian", "Planning a trip to Japan"}


def test_implicit_null_scoping_excludes_rows_with_other_ids(project, world):
    assert ids(project, {"user_id": "alex"}, null_scoping=True) == {"Alex is vegetarian"}


def test_null_scoping_keeps_fields_the_filter_mentions(project, world):
    assert ids(project, {"AND": [{"user_id": "alex"}, {"run_id": "*"}]}, null_scoping=True) == {
        "Planning a trip to Japan"
    }


def test_null_scoping_does_not_apply_without_entity_fields(project, world):
    assert ids(project, {"metadata": {"food": "vegan"}}, null_scoping=True) == {
        "Alex is vegetarian"
    }


def test_wildcard_matches_any_non_null(project, world):
    assert ids(project, {"agent_id": "*"}) == {"I am a helpful travel agent"}


def test_eq_names_an_id_that_is_literally_a_star(project, world):
    remember(project, "A user called star", user_id="*")
    assert ids(project, {"user_id": {"eq": "*"}}) == {"A user called star"}
    assert len(ids(project, {"user_id": "*"})) == 4


def test_expired_is_a_key_of_the_language(project, world):
    yesterday = dt.date.today() - dt.timedelta(days=2)
    remember(project, "An old coupon", user_id="alex", expires=yesterday)
    remember(project, "A coupon for today", user_id="alex", expires=dt.date.today())
    unexpired = ids(project, {"user_id": "alex", "expired": False})
    assert "A coupon for today" in unexpired and "An old coupon" not in unexpired
    assert ids(project, {"user_id": "alex", "expired": True}) == {"An old coupon"}
    with pytest.raises(FilterError, match="expired must be true or false"):
        compile_filters({"expired": "no"})


def test_conditions_build_what_both_surfaces_filter_by():
    parts = conditions(
        entities={"user_id": ["alex"], "agent_id": ["a", "b"]},
        categories=["food"],
        metadata=[{"source": "chat"}],
        created_from="2024-07-01",
        keywords="tea",
    )
    assert all_of(*parts) == {
        "AND": [
            {"user_id": "alex"},
            {"agent_id": {"in": ["a", "b"]}},
            {"categories": {"in": ["food"]}},
            {"metadata": {"source": "chat"}},
            {"created_at": {"gte": "2024-07-01"}},
            {"keywords": {"icontains": "tea"}},
        ]
    }
    assert all_of() == {} and all_of({}, {"user_id": "a"}) == {"user_id": "a"}


def test_or_and_in(project, world):
    found = ids(
        project, {"OR": [{"user_id": "bob"}, {"agent_id": {"in": ["travel-assistant", "support"]}}]}
    )
    assert found == {"Bob plays tennis", "I am a helpful travel agent"}


def test_ne_includes_nulls(project, world):
    assert ids(project, {"user_id": {"ne": "alex"}}) == {
        "Bob plays tennis",
        "I am a helpful travel agent",
    }


def test_not_negates_a_condition_or_a_list(project, world):
    assert ids(project, {"NOT": {"user_id": "alex"}}) == {
        "Bob plays tennis",
        "I am a helpful travel agent",
    }
    assert ids(project, {"NOT": [{"user_id": "alex"}, {"run_id": "trip-1"}]}) == {
        "Alex is vegetarian",
        "Bob plays tennis",
        "I am a helpful travel agent",
    }


def test_date_range_with_bare_dates_includes_whole_days(project, world):
    found = ids(
        project,
        {"AND": [{"user_id": "*"}, {"created_at": {"gte": "2024-07-20", "lte": "2024-07-25"}}]},
    )
    assert found == {"Alex is vegetarian", "Planning a trip to Japan"}


def test_date_gt_a_bare_date_starts_the_next_day(project, world):
    assert ids(project, {"created_at": {"gt": "2024-07-25", "lt": "2024-12-31"}}) == {
        "Bob plays tennis"
    }


def test_date_equality_on_a_bare_date_is_that_day(project, world):
    assert ids(project, {"created_at": "2024-07-20"}) == {"Alex is vegetarian"}


def test_timestamp_is_an_alias_of_created_at_and_takes_unix_seconds(project, world):
    cutoff = dt.datetime(2024, 8, 1, tzinfo=dt.UTC).timestamp()
    assert ids(project, {"timestamp": {"gte": cutoff, "lt": "2025-01-01"}}) == {"Bob plays tennis"}


def test_categories_in_is_any_of_exact(project, world):
    assert ids(project, {"categories": {"in": ["travel", "sports"]}}) == {
        "Planning a trip to Japan"
    }


def test_categories_contains_is_case_insensitive_substring(project, world):
    assert ids(project, {"categories": {"contains": "PREFER"}}) == {"Alex is vegetarian"}


def test_metadata_exact_and_operators(project, world):
    assert ids(project, {"metadata": {"food": "vegan"}}) == {"Alex is vegetarian"}
    assert ids(project, {"metadata": {"level": 3}}) == {"Alex is vegetarian"}
    assert ids(project, {"metadata": {"food": {"contains": "veg"}}}) == {"Alex is vegetarian"}
    assert ids(project, {"metadata": {"food": {"in": ["paleo", "vegan"]}}}) == {
        "Alex is vegetarian"
    }
    assert "Alex is vegetarian" not in ids(project, {"metadata": {"food": {"ne": "vegan"}}})


def test_dotted_metadata_key(project, world):
    assert ids(project, {"metadata.food": "vegan"}) == {"Alex is vegetarian"}


def test_keywords_contains_is_case_sensitive_and_icontains_is_not(project, world):
    assert ids(project, {"keywords": {"contains": "japan"}}) == set()
    assert ids(project, {"keywords": {"icontains": "japan"}}) == {"Planning a trip to Japan"}
    assert ids(project, {"text": "TENNIS"}) == {"Bob plays tennis"}


def test_memory_ids(project, world):
    wanted = [str(world["bob"].id)]
    assert ids(project, {"memory_ids": wanted}) == {"Bob plays tennis"}
    assert ids(project, {"memory_ids": {"in": wanted}}) == {"Bob plays tennis"}


def test_camel_case_keys_from_the_typescript_sdk(project, world):
    assert ids(project, {"userId": "bob"}) == {"Bob plays tennis"}


def test_positive_scope_detection():
    assert compile_filters({"user_id": "a"}).positively_scoped is True
    assert compile_filters({"OR": [{"user_id": "a"}, {"agent_id": "*"}]}).positively_scoped is True
    assert compile_filters({"user_id": {"ne": "a"}}).positively_scoped is False
    assert compile_filters({"NOT": {"user_id": "a"}}).positively_scoped is False
    assert compile_filters({"metadata": {"a": 1}}).positively_scoped is False


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"foo": "bar"}, "Unknown filter key 'foo'"),
        ({"user_id": {"like": "a%"}}, "Unsupported operator 'like' for 'user_id'"),
        ({"created_at": {">=": "2024-01-01"}}, "Unsupported operator '>=' for 'created_at'"),
        ({"created_at": {"gte": "yesterday"}}, "created_at: 'yesterday' is not an ISO date"),
        ({"categories": {"eq": "x"}}, "Unsupported operator 'eq' for 'categories'"),
        ({"metadata": {"a": {"gt": 1}}}, "Unsupported operator 'gt' for 'metadata.a'"),
        ({"metadata": "vegan"}, "metadata filter must be a non-empty object"),
        ({"AND": {"user_id": "a"}}, "AND must be a list"),
        ({"memory_ids": ["nope"]}, "memory_ids: 'nope' is not a valid UUID"),
        ({"user_id": ["a", {"b": 1}]}, "user_id must be a string"),
        ({"user_id": True}, "user_id must be a string"),
        ({"keywords": {"contains": ""}}, "keywords.contains must be a non-empty string"),
        ({"OR": ["user_id"]}, "each filter condition must be a JSON object"),
    ],
)
def test_bad_filters_name_the_offending_key(filters, message):
    with pytest.raises(
        FilterError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")
    ):
        compile_filters(filters)


def test_deep_nesting_is_refused():
    filters: dict = {"user_id": "a"}
    for _ in range(20):
        filters = {"AND": [filters]}
    with pytest.raises(FilterError, match="nest deeper"):
        compile_filters(filters)
