"""Request validation and response shapes of the memory API.

Input serializers only validate; they never touch the database. Output is built by plain
functions (memory_payload, history_payload, event_payload) because lists of a thousand
memories should not pay for DRF field machinery; tests pin their exact shape.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from rest_framework import serializers

from core.text import normal_id, quoted, unwritable_id
from memories.attribution import AddInput, Message, Scope
from memories.categories import category_limit_problem
from memories.filters import ENTITY_FIELDS
from memories.models import Event, Memory, MemoryHistory
from memories.past import PastMemory
from memories.services import check_message_count

MESSAGE_ROLES = ("user", "assistant", "system", "agent")


class EntityIdField(serializers.CharField):
    """An entity id being written: in its normal form (core.text.normal_id, as every read
    compares it), and refused when it holds an invisible character or is the wildcard "*"."""

    def __init__(self, **kwargs: Any):
        super().__init__(
            required=False, allow_null=True, allow_blank=True, max_length=255, **kwargs
        )

    def run_validation(self, data: Any = serializers.empty) -> Any:
        # An empty or blank id is no id (DRF's CharField would hand back "" without calling
        # to_internal_value): wrappers of the SDKs default unused ids to "".
        if isinstance(data, str) and not data.strip():
            return None
        return super().run_validation(data)

    def to_internal_value(self, data: Any) -> str | None:  # type: ignore[override]
        # None for an empty id: the stubs' CharField returns str, this field may return None.
        if isinstance(data, bool) or not isinstance(data, str | int):
            raise serializers.ValidationError("must be a string")
        text = normal_id(super().to_internal_value(str(data)))
        problem = unwritable_id(text)
        if problem:
            raise serializers.ValidationError(problem)
        return text or None


class TimestampField(serializers.Field):
    """Unix seconds (int or float) or an ISO 8601 datetime; becomes an aware datetime in UTC.

    Limited to years EARLIEST_YEAR..LATEST_YEAR: PostgreSQL would store a moment that is year 0
    or 10000 in UTC (0001-01-01T00:00+01:00 is), and Python could then never read it back.
    """

    EARLIEST_YEAR, LATEST_YEAR = 1900, 2999
    default_error_messages = {"invalid": "must be unix seconds or an ISO 8601 datetime"}
    _SECONDS = re.compile(r"-?[0-9]+(\.[0-9]+)?")

    def to_internal_value(self, data: Any) -> dt.datetime:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int | float):
            try:
                moment = dt.datetime.fromtimestamp(data, tz=dt.UTC)
            except (OverflowError, OSError, ValueError):
                raise self._out_of_range() from None
        elif isinstance(data, str):
            text = data.strip()
            if self._SECONDS.fullmatch(text):
                return self.to_internal_value(float(text))
            try:
                moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                self.fail("invalid")
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
            try:
                moment = moment.astimezone(dt.UTC)
            except OverflowError:
                raise self._out_of_range() from None
        else:
            self.fail("invalid")
        if not self.EARLIEST_YEAR <= moment.year <= self.LATEST_YEAR:
            raise self._out_of_range()
        return moment

    def _out_of_range(self) -> serializers.ValidationError:
        return serializers.ValidationError(
            f"must fall within the years {self.EARLIEST_YEAR}-{self.LATEST_YEAR} (UTC)"
        )

    def to_representation(self, value: dt.datetime) -> str:
        return value.isoformat()


class StrictTextField(serializers.CharField):
    """A memory's text must arrive as a string: DRF would quietly store 123 as "123"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError(f"must be a string, got {type(data).__name__}")
        return super().to_internal_value(data)


class MetadataField(serializers.DictField):
    """A memory's metadata: a JSON object (its size limit is memories.services.check_metadata)."""


class ExpirationDateField(serializers.DateField):
    def __init__(self, **kwargs: Any):
        super().__init__(
            required=False, allow_null=True, input_formats=["%Y-%m-%d", "iso-8601"], **kwargs
        )


class MessagesField(serializers.Field):
    """`messages`: a list of {role, content, name?}; a bare string or object is one user message."""

    def to_internal_value(self, data: Any) -> list[dict]:
        if isinstance(data, str):
            data = [{"role": "user", "content": data}]
        elif isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise serializers.ValidationError("must be a list of {role, content} objects")
        if not data:
            raise serializers.ValidationError("must contain at least one message")
        # The service's rule, checked before looking at each message: it also bounds the work
        # of validating them.
        check_message_count(len(data))
        cleaned = []
        for index, item in enumerate(data):
            if not isinstance(item, dict):
                raise serializers.ValidationError(
                    f"[{index}] must be an object with role and content"
                )
            role = item.get("role")
            if role not in MESSAGE_ROLES:
                raise serializers.ValidationError(
                    f"[{index}].role must be one of {', '.join(MESSAGE_ROLES)}, got {quoted(role)}"
                )
            content = item.get("content")
            if isinstance(content, str):
                if not content.strip():
                    raise serializers.ValidationError(f"[{index}].content must not be empty")
            elif not isinstance(content, dict | list):
                raise serializers.ValidationError(
                    f"[{index}].content must be a string or a multimodal object"
                )
            name = item.get("name")
            if name is not None and not isinstance(name, str):
                raise serializers.ValidationError(f"[{index}].name must be a string")
            if name:
                # A speaker's name becomes their entity id: the same normal form and rules.
                name = normal_id(name)
                problem = unwritable_id(name)
                if problem:
                    raise serializers.ValidationError(f"[{index}].name {problem}")
                if len(name) > 255:
                    raise serializers.ValidationError(
                        f"[{index}].name has {len(name)} characters; at most 255"
                    )
            cleaned.append({"role": role, "content": content, **({"name": name} if name else {})})
        return cleaned

    def to_representation(self, value: Any) -> Any:
        return value


class CustomCategoriesField(serializers.ListField):
    """A list of {name: description} objects (Mem0's add contract; bare names are refused)."""

    def __init__(self, **kwargs: Any):
        super().__init__(
            child=serializers.DictField(child=serializers.CharField(allow_blank=True)), **kwargs
        )

    def to_internal_value(self, data: Any) -> list[dict]:
        if isinstance(data, list) and any(isinstance(item, str) for item in data):
            raise serializers.ValidationError(
                'must be a list of {"name": "description"} objects, not plain names'
            )
        categories = super().to_internal_value(data)
        problem = category_limit_problem(
            [(name, description) for item in categories for name, description in item.items()]
        )
        if problem:
            raise serializers.ValidationError(problem)
        return categories


class AddRequest(serializers.Serializer):
    messages = MessagesField()
    user_id = EntityIdField()
    agent_id = EntityIdField()
    app_id = EntityIdField()
    run_id = EntityIdField()
    filters = serializers.DictField(required=False, allow_null=True)
    metadata = MetadataField(required=False, allow_null=True)
    infer = serializers.BooleanField(required=False, default=True)
    immutable = serializers.BooleanField(required=False, default=False)
    expiration_date = ExpirationDateField()
    timestamp = TimestampField(required=False, allow_null=True)
    custom_categories = CustomCategoriesField(required=False, allow_null=True)
    custom_instructions = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    agent_custom_instructions = serializers.CharField(
        required=False, allow_null=True, allow_blank=True
    )
    includes = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    excludes = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    async_mode = serializers.BooleanField(required=False, allow_null=True, default=None)
    output_format = serializers.ChoiceField(
        choices=["v1.0", "v1.1"], required=False, allow_null=True
    )
    version = serializers.CharField(required=False, allow_null=True, allow_blank=True)

    def validate(self, attrs: dict) -> dict:
        # The SDK docs show entity ids at the top level and inside `filters`; accept both.
        filters = attrs.get("filters") or {}
        for name in ENTITY_FIELDS:
            if not attrs.get(name) and isinstance(filters.get(name), str) and filters[name].strip():
                try:
                    attrs[name] = self.fields[name].run_validation(filters[name])
                except serializers.ValidationError as exc:
                    raise serializers.ValidationError({"filters": {name: exc.detail}}) from exc
        if not any(attrs.get(name) for name in ENTITY_FIELDS):
            raise serializers.ValidationError(
                "At least one of user_id, agent_id, app_id or run_id is required."
            )
        if not attrs["infer"]:
            for index, message in enumerate(attrs["messages"]):
                if not isinstance(message["content"], str):
                    raise serializers.ValidationError(
                        {
                            "messages": [
                                f"[{index}].content must be text when infer=false (multimodal input needs inference)"
                            ]
                        }
                    )
        return attrs

    @staticmethod
    def to_add(attrs: dict[str, Any]) -> AddInput:
        """The validated request as the add services take it."""
        return AddInput(
            messages=[
                Message(role=m["role"], content=m["content"], name=m.get("name"))
                for m in attrs["messages"]
            ],
            scope=Scope(
                user_id=attrs.get("user_id"),
                agent_id=attrs.get("agent_id"),
                app_id=attrs.get("app_id"),
                run_id=attrs.get("run_id"),
            ),
            metadata=attrs.get("metadata"),
            immutable=attrs["immutable"],
            expiration_date=attrs.get("expiration_date"),
            created_at=attrs.get("timestamp"),
            custom_categories=attrs.get("custom_categories") or None,
            custom_instructions=attrs.get("custom_instructions"),
            agent_custom_instructions=attrs.get("agent_custom_instructions"),
            includes=attrs.get("includes") or None,
            excludes=attrs.get("excludes") or None,
        )


class UpdateRequest(serializers.Serializer):
    text = StrictTextField(required=False, allow_blank=False, trim_whitespace=True)
    metadata = MetadataField(required=False, allow_null=True)
    expiration_date = ExpirationDateField()
    timestamp = TimestampField(required=False, allow_null=True)

    def to_internal_value(self, data: Any) -> dict:
        # Older clients and docs send the new text as `data` or `message`.
        if isinstance(data, dict) and "text" not in data:
            for alias in ("data", "message", "memory"):
                if isinstance(data.get(alias), str):
                    data = {**data, "text": data[alias]}
                    break
        return super().to_internal_value(data)

    def validate(self, attrs: dict) -> dict:
        if not {"text", "metadata", "expiration_date", "timestamp"} & set(attrs):
            raise serializers.ValidationError(
                "Provide at least one of text, metadata, expiration_date or timestamp."
            )
        return attrs


class BatchItem(serializers.Serializer):
    memory_id = serializers.UUIDField()
    text = StrictTextField(required=False, allow_blank=False)
    metadata = MetadataField(required=False, allow_null=True)


BATCH_LIMIT = 1000


class BatchRequest(serializers.Serializer):
    memories = BatchItem(many=True, allow_empty=False)

    def __init__(self, *args: Any, verb: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.verb = verb

    def to_internal_value(self, data: Any) -> dict:
        # The seed's curl example sends the list as `memory_ids`.
        if isinstance(data, dict) and "memories" not in data and "memory_ids" in data:
            data = {**data, "memories": data["memory_ids"]}
        if isinstance(data, dict) and isinstance(data.get("memories"), list):
            if len(data["memories"]) > BATCH_LIMIT:
                raise serializers.ValidationError(
                    {
                        "memories": [
                            f"Maximum of {BATCH_LIMIT} memories can be {self.verb} in a single request"
                        ]
                    }
                )
            data = {**data, "memories": [_batch_item(item) for item in data["memories"]]}
        return super().to_internal_value(data)


def _batch_item(item: Any) -> Any:
    """A batch entry as clients send it: a bare id, {"memory_id": id, ...}, or the npm client's
    batchDelete given the docs' [{"memory_id": id}], which it wraps again into
    {"memory_id": {"memory_id": id}}."""
    if isinstance(item, str):
        return {"memory_id": item}
    if isinstance(item, dict) and isinstance(item.get("memory_id"), dict):
        inner = item["memory_id"]
        if set(inner) == {"memory_id"} and isinstance(inner["memory_id"], str):
            return {**item, "memory_id": inner["memory_id"]}
    return item


class FeedbackRequest(serializers.Serializer):
    memory_id = serializers.UUIDField(error_messages={"invalid": "Invalid memory_id"})
    feedback = serializers.ChoiceField(
        choices=["POSITIVE", "NEGATIVE", "VERY_NEGATIVE"], required=False, allow_null=True
    )
    feedback_reason = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=5000
    )

    def to_internal_value(self, data: Any) -> dict:
        if isinstance(data, dict) and isinstance(data.get("feedback"), str):
            data = {**data, "feedback": data["feedback"].upper()}
        return super().to_internal_value(data)


# --- responses ------------------------------------------------------------------------------------


def iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def structured_attributes(moment: dt.datetime) -> dict:
    """Calendar facts about created_at (UTC), as Mem0 reports them."""
    moment = moment.astimezone(dt.UTC)
    iso_year, iso_week, iso_weekday = moment.isocalendar()
    return {
        "year": moment.year,
        "month": moment.month,
        "day": moment.day,
        "hour": moment.hour,
        "minute": moment.minute,
        "day_of_week": moment.strftime("%A").lower(),
        "week_of_year": iso_week,
        "day_of_year": moment.timetuple().tm_yday,
        "quarter": (moment.month - 1) // 3 + 1,
        "is_weekend": iso_weekday >= 6,
    }


def memory_payload(
    memory: Memory, *, score: float | None = None, fields: list[str] | None = None
) -> dict:
    """The canonical memory object (get, list, search; search adds `score`)."""
    data = {
        "id": str(memory.id),
        "memory": memory.memory,
        "user_id": memory.user_id,
        "agent_id": memory.agent_id,
        "app_id": memory.app_id,
        "run_id": memory.run_id,
        "session_id": memory.run_id,
        "actor_id": memory.actor_id,
        "role": memory.role,
        "hash": memory.hash,
        "metadata": memory.metadata,
        "categories": memory.categories,
        "immutable": memory.immutable,
        "expiration_date": iso(memory.expiration_date),
        "created_at": iso(memory.created_at),
        "updated_at": iso(memory.updated_at),
        "structured_attributes": structured_attributes(memory.created_at),
        # Mem0's memory-consolidation fields: memdash never supersedes, merges or synthesizes
        # memories, so it has no value for them (the contract: null for what you don't have).
        "replaced_by": None,
        "synthesized": None,
        "lifecycle_state": None,
    }
    if score is not None:
        data["score"] = round(score, 6)
    if fields:
        # `id` and a search's `score` always stay: results are useless without them.
        data = {
            key: value for key, value in data.items() if key in fields or key in ("id", "score")
        }
    return data


def history_payload(row: MemoryHistory) -> dict:
    return {
        "id": str(row.id),
        "memory_id": str(row.memory_id),
        "input": row.input,
        "old_memory": row.old_memory,
        "new_memory": row.new_memory,
        "user_id": row.user_id,
        "agent_id": row.agent_id,
        "app_id": row.app_id,
        "run_id": row.run_id,
        "session_id": row.run_id,
        "categories": row.categories,
        "event": row.event,
        "metadata": row.metadata,
        "actor": row.actor,
        "event_id": str(row.source_event_id) if row.source_event_id else None,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.created_at),
    }


def event_payload(event: Event) -> dict:
    return {
        "id": str(event.id),
        "event_type": event.event_type,
        "status": event.status,
        "payload": event.payload,
        "metadata": event.metadata,
        "results": event.results,
        "error": event.error,
        "created_at": iso(event.created_at),
        "updated_at": iso(event.updated_at),
        "started_at": iso(event.started_at),
        "completed_at": iso(event.completed_at),
        "latency": event.latency_ms,
        "graph_status": None,
        # memdash's addition: how far a long batch (a large delete) has got, as
        # {"done": n, "total": m}; null for events that do not report it.
        "progress": event.progress,
    }


def past_payload(memory: PastMemory) -> dict[str, Any]:
    """A memory as it was at a moment (memories.past): the memory object's fields it had then."""
    return {
        "id": str(memory.id),
        "memory": memory.memory,
        "user_id": memory.user_id,
        "agent_id": memory.agent_id,
        "app_id": memory.app_id,
        "run_id": memory.run_id,
        "metadata": memory.metadata,
        "categories": memory.categories,
        "created_at": iso(memory.created_at),
        "updated_at": iso(memory.updated_at),
        "changed_by": memory.changed_by,
    }
