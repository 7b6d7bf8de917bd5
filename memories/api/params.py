"""How each API era turns request parameters into one filter of the filter language (a dict,
built with memories.filters like the dashboard's, and listed by memories.listing).

- /v1/ and /v2/ (the seed documents): entity ids may come top-level or in `filters`, and naming
  some entity fields implies the others are NULL ("implicit null scoping").
- /v3/ (current SDKs): entity ids only inside `filters`, at least one positively scoped, and
  unmentioned fields are not constrained.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from core.errors import FilterError, InvalidRequest
from core.text import json_problem, normal_id, quoted, strict_loads
from memories.filters import ENTITY_FIELDS, all_of, compile_filters, conditions

ENTITY_REQUIRED = "One of the filters: app_id, user_id, agent_id, run_id is required!"


def param_filters(params: Mapping[str, Any], *, entities: bool) -> list[dict[str, Any]]:
    """Filter conditions from legacy top-level parameters (query string or JSON body)."""

    def given(name: str) -> Any:
        value = params.get(name)
        return None if value in (None, "") else value

    categories = params.get("categories")
    if isinstance(categories, str):
        categories = [c.strip() for c in categories.split(",") if c.strip()]
    metadata = given("metadata")
    if isinstance(metadata, str):
        try:
            metadata = strict_loads(metadata)
        except (ValueError, RecursionError) as exc:
            raise InvalidRequest("metadata must be a JSON object") from exc
    if metadata is not None:
        problem = json_problem(metadata, root="metadata")
        if problem:
            raise InvalidRequest(problem)
    keywords = given("keywords")
    if keywords is not None and not isinstance(keywords, str):
        raise InvalidRequest("keywords must be a string")
    ids = {name: [given(name)] for name in ENTITY_FIELDS if given(name) is not None}
    return conditions(
        entities=ids if entities else None,
        categories=None if categories in (None, "", []) else categories,
        metadata=[] if metadata in (None, {}) else [metadata],
        created_from=given("start_date"),
        created_to=given("end_date"),
        keywords=keywords,
    )


def combine(filters: Any, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """A request's `filters` (a JSON object, if given) AND-ed with its parameters' conditions."""
    if filters is not None and not isinstance(filters, dict):
        raise FilterError("filters must be a JSON object")
    return all_of(filters, *parts)


def legacy_filter(params: Mapping[str, Any], *, require_entity: bool) -> dict[str, Any]:
    """/v1/ and /v2/ reads: top-level params plus `filters`, with null scoping.

    Where the seed docs filter by metadata alone (`require_entity=False`), some condition is
    still required: an empty filter would read the whole project by accident.
    """
    combined = combine(params.get("filters"), param_filters(params, entities=True))
    if not combined and not require_entity:
        raise InvalidRequest(
            "filters is required: name an entity id or another condition, "
            'e.g. {"filters": {"user_id": "alex"}}.'
        )
    compiled = compile_filters(combined)
    if require_entity and not compiled.entity_fields:
        raise InvalidRequest(ENTITY_REQUIRED)
    return all_of(combined, compiled.null_conditions())


def current_filter(params: Mapping[str, Any]) -> dict[str, Any]:
    """/v3/ reads: entity ids only inside `filters`, at least one positively scoped."""
    top_level = [name for name in ENTITY_FIELDS if params.get(name) not in (None, "")]
    if top_level:
        raise InvalidRequest(
            f"Top-level entity parameters ({', '.join(top_level)}) are not supported here; "
            f'put them in filters, e.g. {{"filters": {{"{top_level[0]}": "..."}}}}.'
        )
    filters = params.get("filters")
    if filters in (None, {}):
        raise InvalidRequest(
            'filters is required and must name at least one entity, e.g. {"user_id": "alex"}.'
        )
    combined = combine(filters, param_filters(params, entities=False))
    if not compile_filters(combined).positively_scoped:
        raise InvalidRequest(
            "filters must scope to at least one of user_id, agent_id, app_id or run_id "
            '(use "*" for any value, e.g. {"user_id": "*"}).'
        )
    return combined


def flag(value: Any, name: str, *, default: bool = False) -> bool:
    """A boolean from JSON or a query string."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "0", "no"):
        return False
    raise InvalidRequest(f"{name} must be true or false, got {quoted(value)}")


def number(value: Any, name: str, *, default: float, low: float, high: float) -> float:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise InvalidRequest(f"{name} must be a number")
    try:
        result = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"{name} must be a number, got {quoted(value)}") from exc
    if not low <= result <= high:
        raise InvalidRequest(f"{name} must be between {low:g} and {high:g}, got {result:g}")
    return result


def field_list(value: Any) -> list[str] | None:
    if value in (None, "", []):
        return None
    if isinstance(value, str):
        return [f.strip() for f in value.split(",") if f.strip()]
    if isinstance(value, list) and all(isinstance(f, str) for f in value):
        return value
    raise InvalidRequest("fields must be a list of field names")


def delete_filters(query: Mapping[str, Any]) -> dict:
    """DELETE /v1/memories/: entity ids as query parameters (at least one), optional metadata.

    mem0ai 2.x sends `delete_all(filters={...})` as a Python repr in a `filters` parameter.
    Returns a filter of the filter language (also stored on the Event, for the worker).
    """
    ids: dict[str, str] = {}
    for name in ENTITY_FIELDS:
        # Normalised before anything is judged: " " names no entity (it must not become a
        # delete of every memory), and " alex " is "alex" in both places it may be given.
        value = query.get(name)
        if isinstance(value, str) and normal_id(value):
            ids[name] = normal_id(value)
    if query.get("filters"):
        for name, entity in _repr_entity_ids(query["filters"]).items():
            if ids.setdefault(name, entity) != entity:
                raise InvalidRequest(
                    f"{name} is {quoted(ids[name])} as a parameter but {quoted(entity)} in filters"
                )
    if not ids:
        raise InvalidRequest(
            "At least one filter is required: user_id, agent_id, app_id or run_id."
        )
    parts = conditions(entities={name: [value] for name, value in ids.items()})
    parts += param_filters({"metadata": query.get("metadata")}, entities=False)
    filters = all_of(*parts)
    compile_filters(filters)  # validate now, not in the worker
    return filters


def _repr_entity_ids(raw: str) -> dict[str, str]:
    """mem0ai 2.x's `filters` parameter: a Python repr (or JSON) of {entity field: id}."""
    shape = "filters must be an object of entity ids, e.g. {'user_id': 'alex'}"
    if len(raw) > 5000:
        raise InvalidRequest(f"{shape}; got {len(raw)} characters")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        try:
            value = strict_loads(raw)
        except (ValueError, RecursionError) as exc:
            raise InvalidRequest(shape) from exc
    if not isinstance(value, dict):
        raise InvalidRequest(shape)
    unknown = [repr(k)[:40] for k in value if k not in ENTITY_FIELDS]
    if unknown:
        raise InvalidRequest(
            f"Deleting by filter accepts only entity ids; got {', '.join(unknown)}"
        )
    ids = {}
    for name, entity in value.items():
        if entity is None:
            continue
        if isinstance(entity, bool) or not isinstance(entity, str | int):
            raise InvalidRequest(f"filters.{name} must be a string id, got {type(entity).__name__}")
        if normal_id(str(entity)):
            ids[name] = normal_id(str(entity))
    problem = json_problem(ids, root="filters")  # a Python repr can spell out NUL as "\x00"
    if problem:
        raise InvalidRequest(problem)
    return ids
