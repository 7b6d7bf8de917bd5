"""The filter language: Mem0's filter JSON compiled into a Django Q, in one place.

Used by every API version and by the dashboard (its filter pills are a filter dict in the URL).
A filter is a dict. Sibling keys are AND-ed; `AND`, `OR` (lists) and `NOT` (a dict or a list)
nest. Field conditions are a bare value (equality) or a dict of operators, AND-ed:

    {"AND": [{"user_id": "alex"}, {"created_at": {"gte": "2024-07-01", "lte": "2024-07-31"}}]}

memdash adds two keys to Mem0's: `expired` (true: only memories whose expiration_date has
passed; false: only the others), which is how every read hides expired memories, and `pii`,
the kinds of personal data found in a memory's text when it was written (memories.pii):
`{"pii": "phone"}`, `{"pii": {"in": ["phone", "email"]}}`, `{"pii": true}` for any kind,
`{"pii": false}` for none. A bare "*" means any id; `{"eq": "*"}` is the id "*" itself. An empty id ("") is no id, as on
adds: `{"user_id": "alex", "agent_id": ""}` is `{"user_id": "alex"}`. Ids are compared in the
normal form writes store them in (core.text.normal_id): `{"user_id": " café "}` finds "café".

Anything this module does not understand raises FilterError, whose message names the offending
key; the API turns it into a 400. No SQL is ever built from strings.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Func, Q, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import Contains, IContains
from django.utils import timezone

from core.errors import FilterError
from core.text import normal_id, quoted
from memories.pii import KINDS as PII_KINDS

ENTITY_FIELDS = ("user_id", "agent_id", "app_id", "run_id")
# An entity condition that names only empty ids: no condition at all (see _given_id).
NO_ID = object()
DATETIME_FIELDS = {
    "created_at": "created_at",
    "updated_at": "updated_at",
    "timestamp": "created_at",
}
DATE_FIELDS = {"expiration_date": "expiration_date"}
TEXT_FIELDS = ("keywords", "text", "keywords_search")
LOGICAL = ("AND", "OR", "NOT")
ALLOWED_KEYS = (
    *LOGICAL,
    *ENTITY_FIELDS,
    *DATETIME_FIELDS,
    *DATE_FIELDS,
    *TEXT_FIELDS,
    "categories",
    "metadata",
    "memory_ids",
    "expired",
    "pii",
)
# The TypeScript SDK sends `filters` verbatim, so camelCase keys written by its users arrive as-is.
CAMEL_CASE_ALIASES = {
    "userId": "user_id",
    "agentId": "agent_id",
    "appId": "app_id",
    "runId": "run_id",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "expirationDate": "expiration_date",
    "memoryIds": "memory_ids",
    "keywordsSearch": "keywords_search",
}
ENTITY_OPS = ("eq", "ne", "in", "nin")
DATE_OPS = ("eq", "ne", "in", "gt", "gte", "lt", "lte")
CATEGORY_OPS = ("in", "contains")
METADATA_OPS = ("eq", "ne", "in", "contains", "icontains")
TEXT_OPS = ("contains", "icontains")
PII_OPS = ("eq", "in")
MAX_DEPTH = 12
MAX_LIST = 1000
# What every read applies unless expired memories are asked for (`show_expired`).
UNEXPIRED = {"expired": False}


@dataclass
class CompiledFilter:
    """A filter compiled to a Q, plus what the scoping rules need to know about it."""

    q: Q
    # Entity fields mentioned anywhere in the filter (for seed-era implicit null scoping).
    entity_fields: set[str] = field(default_factory=set)
    # True when some entity field is constrained positively (eq / in / "*"), outside NOT.
    positively_scoped: bool = False

    def null_conditions(self) -> dict[str, None]:
        """The 2025 rule (/v1 and /v2) as a filter: unmentioned entity fields must be NULL.

        Only applies when the filter names at least one entity field; a filter on metadata or
        categories alone stays unscoped, as the seed examples show.
        """
        if not self.entity_fields:
            return {}
        return {name: None for name in ENTITY_FIELDS if name not in self.entity_fields}


def all_of(*parts: dict[str, Any] | None) -> dict[str, Any]:
    """The filter matching every one of `parts` (empty ones are left out; {} matches all)."""
    nodes = [part for part in parts if part]
    if not nodes:
        return {}
    return nodes[0] if len(nodes) == 1 else {"AND": nodes}


def conditions(
    *,
    entities: Mapping[str, Sequence[Any]] | None = None,
    categories: Any = None,
    metadata: Sequence[Any] = (),
    created_from: Any = None,
    created_to: Any = None,
    keywords: Any = None,
) -> list[dict[str, Any]]:
    """Filter conditions from the plain parameters the API and the dashboard both offer.

    Each entity field matches any of its values; every other condition must hold too (AND them
    with all_of). None means "not given". Values are checked when the filter is compiled, like
    any other filter, so a wrong type gets the filter language's error.
    """
    parts: list[dict[str, Any]] = []
    for name, values in (entities or {}).items():
        if len(values) == 1:
            parts.append({name: values[0]})
        elif values:
            parts.append({name: {"in": list(values)}})
    if categories is not None:
        parts.append({"categories": {"in": categories}})
    parts += [{"metadata": condition} for condition in metadata]
    if created_from is not None:
        parts.append({"created_at": {"gte": created_from}})
    if created_to is not None:
        parts.append({"created_at": {"lte": created_to}})
    if keywords is not None:
        parts.append({"keywords": {"icontains": keywords}})
    return parts


def exactly(field: str, entity_id: str) -> dict[str, Any]:
    """The condition "`field` is `entity_id`", also for an id that is literally "*"."""
    return {field: {"eq": entity_id}} if entity_id == "*" else {field: entity_id}


def utc_today() -> dt.date:
    """The day expiry is judged on: today in UTC, whatever the server's time zone."""
    return timezone.now().astimezone(dt.UTC).date()


def unexpired_q(today: dt.date | None = None) -> Q:
    """Memories whose expiration_date has not passed (the date itself still counts, in UTC).

    With is_expired, the only definition of expiry: the `expired` filter key, every read and
    the dashboard's "expired" badge use these two.
    """
    return Q(expiration_date__isnull=True) | Q(expiration_date__gte=today or utc_today())


def is_expired(expiration_date: dt.date | None, today: dt.date | None = None) -> bool:
    """Whether a memory expiring on `expiration_date` is expired (unexpired_q's complement)."""
    return expiration_date is not None and expiration_date < (today or utc_today())


def compile_filters(filters: Any) -> CompiledFilter:
    """Compile a Mem0 filter dict. `None` or `{}` matches everything."""
    if filters is None:
        return CompiledFilter(q=Q())
    if not isinstance(filters, dict):
        raise FilterError(f"filters must be a JSON object, got {_type_name(filters)}")
    compiler = _Compiler()
    q = compiler.node(filters, depth=0, negated=False)
    return CompiledFilter(
        q=q, entity_fields=compiler.entity_fields, positively_scoped=compiler.positive
    )


class _Compiler:
    def __init__(self) -> None:
        self.entity_fields: set[str] = set()
        self.positive = False

    def node(self, node: Any, *, depth: int, negated: bool) -> Q:
        if depth > MAX_DEPTH:
            raise FilterError(f"filters nest deeper than {MAX_DEPTH} levels")
        if not isinstance(node, dict):
            raise FilterError(
                f"each filter condition must be a JSON object, got {_type_name(node)}"
            )
        q = Q()
        for raw_key, value in node.items():
            key = CAMEL_CASE_ALIASES.get(raw_key) or raw_key
            q &= self.condition(key, value, depth=depth, negated=negated)
        return q

    def condition(self, key: str, value: Any, *, depth: int, negated: bool) -> Q:
        if key in ("AND", "OR"):
            items = _as_list(value, key)
            parts = [self.node(item, depth=depth + 1, negated=negated) for item in items]
            if key == "AND":
                return _combine(parts, and_=True)
            return _combine(parts, and_=False) if parts else Q(pk__in=[])
        if key == "NOT":
            inner = value if isinstance(value, dict) else {"AND": _as_list(value, "NOT")}
            return ~self.node(inner, depth=depth + 1, negated=not negated)
        if key in ENTITY_FIELDS:
            given = _given_id(value)
            if given is NO_ID:
                return Q()
            self.entity_fields.add(key)
            return self.entity(key, given, negated=negated)
        if key in DATETIME_FIELDS:
            return _datetime_condition(key, DATETIME_FIELDS[key], value)
        if key in DATE_FIELDS:
            return _date_condition(key, DATE_FIELDS[key], value)
        if key in TEXT_FIELDS:
            return _text_condition(key, value)
        if key == "categories":
            return _categories_condition(value)
        if key == "metadata":
            return _metadata_condition(value)
        if key.startswith("metadata.") and len(key) > len("metadata."):
            return _metadata_condition({key[len("metadata.") :]: value})
        if key == "memory_ids":
            return _memory_ids_condition(value)
        if key == "pii":
            return _pii_condition(value)
        if key == "expired":
            if not isinstance(value, bool):
                raise FilterError(f"expired must be true or false, got {_type_name(value)}")
            return ~unexpired_q() if value else unexpired_q()
        raise FilterError(
            f"Unknown filter key {quoted(key)}. A filter key must be a logical operator or one of: "
            + ", ".join(k for k in ALLOWED_KEYS if k not in ("keywords_search",))
        )

    def entity(self, name: str, value: Any, *, negated: bool) -> Q:
        if not isinstance(value, dict):
            if value is not None and not negated:
                self.positive = True
            return _entity_eq(name, value)
        q = Q()
        for op, operand in _operators(name, value, ENTITY_OPS):
            if op == "eq":
                # Literal: {"eq": "*"} names an entity whose id is "*" (a bare "*" means any).
                q &= _entity_eq(name, operand, literal=True)
                self.positive |= operand is not None and not negated
            elif op == "ne":
                # `ne` also matches rows where the field is NULL (pair it with "*" to exclude them).
                q &= (
                    ~_entity_eq(name, operand) | Q(**{f"{name}__isnull": True})
                    if operand is not None
                    else Q(**{f"{name}__isnull": False})
                )
            elif op == "in":
                q &= _entity_in(name, operand)
                self.positive |= not negated
            else:  # nin
                q &= ~_entity_in(name, operand) | Q(**{f"{name}__isnull": True})
        return q


def _given_id(value: Any) -> Any:
    """An entity condition with its ids in their normal form (core.text.normal_id, as writes
    store them) and its empty ids left out; NO_ID when nothing is left (None stays: it is the
    condition "no id of this kind").

    Wrappers of the SDKs default unused ids to "" (`agent_id=""`), and adds already read an
    empty id as no id: so does every filter, `{"agent_id": ""}` constrains nothing, and
    `{"in": ["", "bot"]}` is `{"in": ["bot"]}`. Normalised first, " * " is the bare "*".
    """

    def normal(item: Any) -> Any:
        return normal_id(item) if isinstance(item, str) else item

    value = normal(value)
    if value == "":
        return NO_ID
    if not isinstance(value, dict):
        return value
    kept: dict[str, Any] = {}
    for op, operand in value.items():
        if isinstance(operand, list):
            normalised = [normal(item) for item in operand]
            operand = [item for item in normalised if item != ""]
            if normalised and not operand:
                continue
        else:
            operand = normal(operand)
            if operand == "":
                continue
        kept[op] = operand
    return kept or NO_ID


def _entity_eq(name: str, value: Any, *, literal: bool = False) -> Q:
    if value is None:
        return Q(**{f"{name}__isnull": True})
    if value == "*" and not literal:
        return Q(**{f"{name}__isnull": False})
    return Q(**{name: _entity_value(name, value)})


def _entity_in(name: str, values: Any) -> Q:
    items = _as_list(values, f"{name}.in")
    if not items:
        return Q(pk__in=[])
    if "*" in items:
        return Q(**{f"{name}__isnull": False})
    return Q(**{f"{name}__in": [_entity_value(name, v) for v in items]})


def _entity_value(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FilterError(f"{name} must be a string, got {_type_name(value)}")
    text = str(value)
    if not text:
        raise FilterError(f"{name} must not be empty")
    return text


# --- dates ------------------------------------------------------------------------------------


def parse_when(value: Any, key: str) -> tuple[dt.datetime, bool]:
    """Parse a filter date: ISO date, ISO datetime or unix seconds.

    Returns (moment, is_whole_day). A bare date means the whole UTC day.
    """
    if isinstance(value, bool):
        raise FilterError(f"{key}: expected a date, got a boolean")
    if isinstance(value, int | float):
        try:
            return dt.datetime.fromtimestamp(value, tz=dt.UTC), False
        except (OverflowError, OSError, ValueError) as exc:
            raise FilterError(f"{key}: {quoted(value)} is not a valid unix timestamp") from exc
    if not isinstance(value, str):
        raise FilterError(f"{key}: expected an ISO date or datetime, got {_type_name(value)}")
    text = value.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC), True
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise FilterError(
            f"{key}: {quoted(value)} is not an ISO date (YYYY-MM-DD) or datetime"
        ) from exc
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        # Compared in UTC by the database; a moment past year 9999 in UTC has no Python form.
        return moment.astimezone(dt.UTC), False
    except OverflowError as exc:
        raise FilterError(f"{key}: {quoted(value)} is outside the years 1-9999 in UTC") from exc


def _next_day(moment: dt.datetime) -> dt.datetime:
    """The end of a whole-day filter; the last representable moment for 9999-12-31."""
    try:
        return moment + dt.timedelta(days=1)
    except OverflowError:
        return dt.datetime.max.replace(tzinfo=dt.UTC)


def _datetime_condition(key: str, column: str, value: Any) -> Q:
    q = Q()
    for op, operand in _operators(key, value, DATE_OPS, bare="eq"):
        if op == "in":
            q &= _combine(
                [_moment_eq(key, column, v) for v in _as_list(operand, f"{key}.in")], and_=False
            ) or Q(pk__in=[])
            continue
        if op in ("eq", "ne"):
            eq = _moment_eq(key, column, operand)
            q &= eq if op == "eq" else ~eq
            continue
        moment, whole_day = parse_when(operand, key)
        end_of_day = _next_day(moment)
        if op == "gte":
            q &= Q(**{f"{column}__gte": moment})
        elif op == "gt":
            q &= (
                Q(**{f"{column}__gte": end_of_day}) if whole_day else Q(**{f"{column}__gt": moment})
            )
        elif op == "lte":
            q &= (
                Q(**{f"{column}__lt": end_of_day}) if whole_day else Q(**{f"{column}__lte": moment})
            )
        else:  # lt
            q &= Q(**{f"{column}__lt": moment})
    return q


def _moment_eq(key: str, column: str, value: Any) -> Q:
    moment, whole_day = parse_when(value, key)
    if whole_day:
        return Q(**{f"{column}__gte": moment, f"{column}__lt": _next_day(moment)})
    return Q(**{column: moment})


def _date_condition(key: str, column: str, value: Any) -> Q:
    q = Q()
    for op, operand in _operators(key, value, DATE_OPS, bare="eq"):
        if op == "in":
            days = [_day(v, key) for v in _as_list(operand, f"{key}.in")]
            q &= Q(**{f"{column}__in": days})
        elif op == "eq":
            q &= (
                Q(**{f"{column}__isnull": True})
                if operand is None
                else Q(**{column: _day(operand, key)})
            )
        elif op == "ne":
            q &= (
                Q(**{f"{column}__isnull": False})
                if operand is None
                else ~Q(**{column: _day(operand, key)}) | Q(**{f"{column}__isnull": True})
            )
        else:
            q &= Q(**{f"{column}__{op}": _day(operand, key)})
    return q


def _day(value: Any, key: str) -> dt.date:
    return parse_when(value, key)[0].date()


# --- text, categories, metadata, ids -----------------------------------------------------------


def _text_condition(key: str, value: Any) -> Q:
    q = Q()
    for op, operand in _operators(key, value, TEXT_OPS, bare="icontains"):
        if not isinstance(operand, str) or not operand:
            raise FilterError(f"{key}.{op} must be a non-empty string")
        q &= Q(**{f"memory__{op}": operand})
    return q


_CATEGORY_SEPARATOR = "\x1f"


def _categories_condition(value: Any) -> Q:
    if not isinstance(value, dict):
        names = value if isinstance(value, list) else [value]
        return _categories_in(names)
    q = Q()
    for op, operand in _operators("categories", value, CATEGORY_OPS):
        if op == "in":
            q &= _categories_in(_as_list(operand, "categories.in"))
        else:
            if not isinstance(operand, str) or not operand:
                raise FilterError("categories.contains must be a non-empty string")
            # Case-insensitive substring of any category: match against the joined array.
            joined = Func(
                F("categories"),
                Value(_CATEGORY_SEPARATOR),
                function="array_to_string",
                output_field=TextField(),
            )
            q &= Q(IContains(joined, operand))
    return q


def _categories_in(names: Iterable[Any]) -> Q:
    names = list(names)
    for name in names:
        if not isinstance(name, str) or not name:
            raise FilterError("categories must be non-empty strings")
    if not names:
        return Q(pk__in=[])
    return Q(categories__overlap=names)


def _metadata_condition(value: Any) -> Q:
    if not isinstance(value, dict) or not value:
        raise FilterError(
            'metadata filter must be a non-empty object such as {"metadata": {"food": "vegan"}}'
        )
    q = Q()
    for key, condition in value.items():
        if isinstance(condition, dict) and condition and set(condition) <= set(METADATA_OPS):
            for op, operand in condition.items():
                q &= _metadata_op(key, op, operand)
        elif (
            isinstance(condition, dict)
            and condition
            and any(k in DATE_OPS or k in ("nin",) for k in condition)
        ):
            bad = next(k for k in condition if k not in METADATA_OPS)
            raise _unknown_op(f"metadata.{key}", bad, METADATA_OPS)
        else:
            q &= Q(metadata__contains={key: condition})
    return q


def _metadata_op(key: str, op: str, operand: Any) -> Q:
    if op == "eq":
        return Q(metadata__contains={key: operand})
    if op == "ne":
        return ~Q(metadata__contains={key: operand}) | Q(metadata__isnull=True)
    if op == "in":
        options = _as_list(operand, f"metadata.{key}.in")
        return _combine(
            [Q(metadata__contains={key: option}) for option in options], and_=False
        ) or Q(pk__in=[])
    if not isinstance(operand, str) or not operand:
        raise FilterError(f"metadata.{key}.{op} must be a non-empty string")
    text = KeyTextTransform(key, "metadata")
    return Q(Contains(text, operand)) if op == "contains" else Q(IContains(text, operand))


def _pii_condition(value: Any) -> Q:
    """Memories whose text held a kind of personal data when written (memories.pii); the GIN
    index on pii_kinds serves each form (`true` is an overlap with every kind)."""
    if isinstance(value, bool):
        found = Q(pii_kinds__overlap=list(PII_KINDS))
        return found if value else ~found
    q = Q()
    for op, operand in _operators("pii", value, PII_OPS, bare="eq"):
        names = _as_list(operand, "pii.in") if op == "in" else [operand]
        for name in names:
            if not isinstance(name, str) or name not in PII_KINDS:
                raise FilterError(
                    f"pii: {quoted(name)} is not a kind of personal data memdash detects; "
                    f"use one of: {', '.join(PII_KINDS)}, or true / false"
                )
        q &= Q(pii_kinds__overlap=names) if names else Q(pk__in=[])
    return q


def _memory_ids_condition(value: Any) -> Q:
    if isinstance(value, dict):
        if set(value) != {"in"}:
            bad = next((k for k in value if k != "in"), "?")
            raise _unknown_op("memory_ids", bad, ("in",))
        value = value["in"]
    ids = _as_list(value, "memory_ids")
    parsed = []
    for item in ids:
        try:
            parsed.append(uuid.UUID(str(item)))
        except ValueError as exc:
            raise FilterError(f"memory_ids: {quoted(item)} is not a valid UUID") from exc
    return Q(pk__in=parsed)


# --- helpers -------------------------------------------------------------------------------------


def _operators(
    key: str, value: Any, allowed: Iterable[str], *, bare: str | None = None
) -> list[tuple[str, Any]]:
    """The (operator, operand) pairs of a condition; a bare value means the `bare` operator."""
    ops = value if isinstance(value, dict) or bare is None else {bare: value}
    if not ops:
        raise FilterError(f"{key}: an operator object needs at least one operator")
    for op in ops:
        if op not in allowed:
            raise _unknown_op(key, op, allowed)
    return list(ops.items())


def _as_list(value: Any, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise FilterError(f"{key} must be a list, got {_type_name(value)}")
    if len(value) > MAX_LIST:
        raise FilterError(f"{key} has {len(value)} items; at most {MAX_LIST} are allowed")
    return value


def _combine(parts: list[Q], *, and_: bool) -> Q:
    if not parts:
        return Q()
    result = parts[0]
    for part in parts[1:]:
        result = (result & part) if and_ else (result | part)
    return result


def _unknown_op(key: str, op: Any, allowed: Iterable[str]) -> FilterError:
    return FilterError(
        f"Unsupported operator {quoted(op)} for {quoted(key)}; use one of: {', '.join(allowed)}"
    )


def _type_name(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
    }.get(type(value), type(value).__name__)
