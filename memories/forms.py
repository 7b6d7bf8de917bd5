"""Dashboard forms: the memory filter (URL state -> filter dict -> pills), the memory edit and
the project's memory settings.

The filter form turns the query string into a Mem0 filter dict, which memories.filters compiles
exactly as it does for the API. The same form renders the filter controls and the pills, and
gives the canonical query string that the URL bar shows.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django import forms
from django.conf import settings
from django.http import QueryDict

from core.errors import FilterError, InvalidRequest
from core.pills import Pill, pills
from core.text import json_problem, quoted, strict_loads, unstorable_text
from memories.categories import DEFAULT_CATEGORIES
from memories.filters import (
    ENTITY_FIELDS,
    all_of,
    compile_filters,
    conditions,
    exactly,
)
from memories.listing import visible
from memories.models import Memory
from memories.pii import KINDS as PII_KINDS
from memories.pipeline import category_choices
from memories.project_settings import parse_categories
from memories.services import MAX_REASON_CHARS
from tenancy.models import Attribution, PiiMode, Project

MAX_VALUES = 20
SORTS = {"created": "created_at", "updated": "updated_at"}
# (param, label) in canonical order. Values of one param are OR-ed, params are AND-ed,
# except metadata pairs, which are all AND-ed (each names its own key).
MULTI_PARAMS = (
    ("user_id", "user"),
    ("agent_id", "agent"),
    ("app_id", "app"),
    ("run_id", "run"),
    ("category", "category"),
    ("meta", "metadata"),
    # Kinds of personal data (memories.pii), or "any".
    ("pii", "contains"),
)
PII_ANY = "any"
ADD_CHOICES = [(param, label) for param, label in MULTI_PARAMS]
PILL_LABELS = (
    *MULTI_PARAMS,
    ("date_from", "created from"),
    ("date_to", "created until"),
    ("show_expired", "including expired"),
    ("filters", "filter"),
    ("q", "text contains"),
    ("search", "similar to"),
)
CURSOR_PARAMS = ("older", "newer")


class MultiValueField(forms.Field):
    """A repeated query parameter (`?user_id=a&user_id=b`) as a list of trimmed strings."""

    widget = forms.MultipleHiddenInput

    def __init__(self, *, max_length: int = 255, **kwargs: Any):
        super().__init__(required=False, **kwargs)
        self.max_length = max_length

    def to_python(self, value: Any) -> list[str]:
        values = [str(v).strip() for v in (value or []) if str(v).strip()]
        unique = list(dict.fromkeys(values))
        if len(unique) > MAX_VALUES:
            raise forms.ValidationError(f"at most {MAX_VALUES} values")
        for item in unique:
            problem = unstorable_text(item)
            if problem:
                raise forms.ValidationError(f"a value {problem}")
            if len(item) > self.max_length:
                raise forms.ValidationError(f"{item[:20]!r}... is longer than {self.max_length}")
        return unique


class MemoryFilterForm(forms.Form):
    user_id = MultiValueField()
    agent_id = MultiValueField()
    app_id = MultiValueField()
    run_id = MultiValueField()
    category = MultiValueField(max_length=100)
    meta = MultiValueField(max_length=500)
    pii = MultiValueField(max_length=30)
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    show_expired = forms.BooleanField(required=False)
    filters = forms.CharField(required=False, max_length=5000)
    q = forms.CharField(required=False, max_length=200)
    search = forms.CharField(required=False, max_length=500)
    sort = forms.ChoiceField(
        required=False, choices=[("created", "Newest created"), ("updated", "Recently updated")]
    )
    # "Add a filter" row: folded into the matching list, then the URL is rewritten without it.
    add_field = forms.ChoiceField(required=False, choices=ADD_CHOICES)
    add_value = forms.CharField(required=False, max_length=500)

    def __init__(self, data: QueryDict, *, fixed: dict[str, str] | None = None):
        # `fixed`: entity filters a page imposes (an entity page shows one entity's memories).
        super().__init__(data)
        self.fixed = fixed or {}
        self._filter_dict: dict | None = None

    def clean_meta(self) -> list[str]:
        pairs = self.cleaned_data["meta"]
        for pair in pairs:
            _split_pair(pair)
        return pairs

    def clean_pii(self) -> list[str]:
        kinds = self.cleaned_data["pii"]
        for kind in kinds:
            _check_pii_kind(kind)
        return kinds

    def clean_filters(self) -> dict[str, Any] | None:
        text = self.cleaned_data["filters"].strip()
        if not text:
            return None
        value = _strict_json(text, root="filters")
        if not isinstance(value, dict):
            raise forms.ValidationError("must be a JSON object, as in the API's `filters`")
        return value or None

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        field, value = data.get("add_field"), (data.get("add_value") or "").strip()
        if field and value and field in self.fields:
            if field in ("meta", "pii"):
                try:
                    if field == "meta":
                        _split_pair(value)
                    else:
                        _check_pii_kind(value)
                except forms.ValidationError as exc:
                    self.add_error("add_value", exc)
                    return data
            values = data.get(field) or []
            if value not in values:
                data[field] = [*values, value]
        if not self.errors:
            try:
                self._filter_dict = self.build_filter_dict(data)
                compile_filters(self._filter_dict)
            except FilterError as exc:
                self.add_error("filters" if data.get("filters") else None, str(exc))
        return data

    @property
    def adds_filter(self) -> bool:
        """The request used the "add filter" row, so the URL should be rewritten."""
        return bool(self.data.get("add_field") or self.data.get("add_value"))

    @property
    def sort_key(self) -> str:
        return SORTS.get(self.cleaned_data.get("sort") or "created", "created_at")

    @property
    def include_expired(self) -> bool:
        return bool(self.cleaned_data.get("show_expired"))

    @property
    def search_text(self) -> str:
        return (self.cleaned_data.get("search") or "").strip()

    def build_filter_dict(self, data: dict[str, Any]) -> dict[str, Any]:
        """The page's filter in the filter language: the pills, the raw JSON, and the entity
        a page is fixed to (so "Advanced" and a bulk delete of "all matching" state it)."""
        parts = [
            *(exactly(name, value) for name, value in self.fixed.items()),
            *conditions(
                entities={name: data.get(name) or [] for name in ENTITY_FIELDS},
                categories=data.get("category") or None,
                metadata=[
                    {key: _metadata_value(value)}
                    for key, value in map(_split_pair, data.get("meta") or [])
                ],
                created_from=data["date_from"].isoformat() if data.get("date_from") else None,
                created_to=data["date_to"].isoformat() if data.get("date_to") else None,
                keywords=(data.get("q") or "").strip() or None,
            ),
            *_pii_conditions(data.get("pii") or []),
        ]
        return all_of(*parts, data.get("filters"))

    def filter_dict(self) -> dict[str, Any]:
        """The Mem0 filter the page applies (valid forms only): what the API would take."""
        assert self._filter_dict is not None or not self.errors
        return self._filter_dict or {}

    def listed_filter(self) -> dict[str, Any]:
        """The filter with the expiry rule the page shows (expired memories only when shown).

        Self-contained filter JSON, so a background worker can rebuild the same set from an
        Event's payload (a bulk delete of "all matching" records it).
        """
        return visible(self.filter_dict(), show_expired=self.include_expired)

    # --- URL state ------------------------------------------------------------------------------

    def canonical_query(self) -> QueryDict:
        """The filter state as the URL shows it: the add row folded in, empty values dropped."""
        query = QueryDict(mutable=True)
        data = self.cleaned_data if self.is_bound and not self.errors else {}
        if not data:
            return self._raw_query()
        for param, _label in MULTI_PARAMS:
            if data.get(param):
                query.setlist(param, data[param])
        for name in ("date_from", "date_to"):
            if data.get(name):
                query[name] = data[name].isoformat()
        if data.get("show_expired"):
            query["show_expired"] = "1"
        if data.get("filters"):
            query["filters"] = json.dumps(data["filters"], separators=(",", ":"))
        for name in ("q", "search"):
            if (data.get(name) or "").strip():
                query[name] = data[name].strip()
        if data.get("sort") and data["sort"] != "created":
            query["sort"] = data["sort"]
        return query

    def _raw_query(self) -> QueryDict:
        """An invalid form keeps the URL as typed (minus cursors), so the user can fix it."""
        query = self.data.copy() if isinstance(self.data, QueryDict) else QueryDict(mutable=True)
        for name in (*CURSOR_PARAMS, "add_field", "add_value"):
            query.pop(name, None)
        return query

    def pills(self) -> list[Pill]:
        return pills(self.canonical_query(), PILL_LABELS, shown=_pill_text)

    def clear_all_query(self) -> QueryDict:
        """Clearing every pill keeps only the sort order."""
        query = QueryDict(mutable=True)
        sort = self.canonical_query().get("sort")
        if sort:
            query["sort"] = sort
        return query


def _strict_json(text: str, *, root: str) -> Any:
    """`text` parsed as JSON PostgreSQL can store, or the form error saying why not."""
    try:
        value = strict_loads(text)
    except RecursionError:
        raise forms.ValidationError("nests too deeply") from None
    except ValueError as exc:
        raise forms.ValidationError(f"not valid JSON ({getattr(exc, 'msg', exc)})") from exc
    problem = json_problem(value, root=root)
    if problem:
        raise forms.ValidationError(problem)
    return value


def _check_pii_kind(kind: str) -> None:
    if kind != PII_ANY and kind not in PII_KINDS:
        raise forms.ValidationError(
            f"{kind!r} is not a kind of personal data memdash detects; use one of "
            f"{', '.join(PII_KINDS)}, or {PII_ANY}"
        )


def _pii_conditions(kinds: list[str]) -> list[dict[str, Any]]:
    """The `pii` condition of the filter language for the "contains" pills (OR-ed)."""
    if not kinds:
        return []
    if PII_ANY in kinds:
        return [{"pii": True}]
    return [{"pii": kinds[0] if len(kinds) == 1 else {"in": kinds}}]


def _pill_text(param: str, value: str) -> str:
    if param == "show_expired":
        return ""
    return " = ".join(_split_pair(value)) if param == "meta" else value


def _split_pair(pair: str) -> tuple[str, str]:
    key, sep, value = pair.partition("=")
    if not sep or not key.strip():
        raise forms.ValidationError(f"metadata filters look like key=value, got {pair!r}")
    return key.strip(), value.strip()


def _metadata_value(value: str) -> Any:
    """`priority=1` should match both {"priority": 1} and {"priority": "1"}."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    if isinstance(parsed, float) and not math.isfinite(parsed):
        return value
    if isinstance(parsed, bool | int | float) or parsed is None:
        return {"in": [parsed, value]}
    return value


class MemoryEditForm(forms.Form):
    memory = forms.CharField(
        label="Text", widget=forms.Textarea(attrs={"rows": 4}), strip=True, max_length=None
    )
    metadata = forms.CharField(
        label="Metadata (JSON object)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false", "class": "mono"}),
    )
    expiration_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    categories = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="From the project's category catalogue.",
    )
    reason = forms.CharField(
        label="Reason (optional)",
        required=False,
        strip=True,
        max_length=MAX_REASON_CHARS,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": MAX_REASON_CHARS}),
        help_text=f"Why you are making this change; shown in the history. "
        f"At most {MAX_REASON_CHARS} characters.",
        error_messages={
            "max_length": f"The reason can be at most {MAX_REASON_CHARS} characters "
            "(it has %(show_value)d)."
        },
    )

    def __init__(self, memory: Memory, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The project's catalogue, plus what the memory already has (a per-call custom
        # category stays choosable, so saving the form unchanged changes nothing).
        names = [name for name, _ in category_choices(memory.project, None)]
        names += [name for name in memory.categories or [] if name not in names]
        categories = self.fields["categories"]
        assert isinstance(categories, forms.MultipleChoiceField)
        categories.choices = [(name, name) for name in names]

    def clean_metadata(self) -> dict | None:
        text = self.cleaned_data["metadata"].strip()
        if not text:
            return None
        value = _strict_json(text, root="metadata")
        if not isinstance(value, dict):
            raise forms.ValidationError("must be a JSON object")
        return value

    def clean_categories(self) -> list[str]:
        names = list(self.cleaned_data["categories"])
        most = settings.MEMDASH_MAX_CATEGORIES
        if len(names) > most:
            raise forms.ValidationError(
                f"{len(names)} categories chosen; at most {most} (MEMDASH_MAX_CATEGORIES)."
            )
        return names

    @classmethod
    def for_memory(cls, memory: Memory) -> MemoryEditForm:
        return cls(
            memory,
            initial={
                "memory": memory.memory,
                "metadata": json.dumps(memory.metadata, indent=2, ensure_ascii=False)
                if memory.metadata
                else "",
                "expiration_date": memory.expiration_date,
                "categories": list(memory.categories or []),
            },
        )

    def changes(self, memory: Memory) -> dict[str, Any]:
        """Only the fields that differ, so the history row and Event name what really changed
        (the reason is not a change: it goes with the others)."""
        data = self.cleaned_data
        changed: dict[str, Any] = {}
        if data["memory"] != memory.memory:
            changed["text"] = data["memory"]
        if data["metadata"] != memory.metadata:
            changed["metadata"] = data["metadata"]
        if data["expiration_date"] != memory.expiration_date:
            changed["expiration_date"] = data["expiration_date"]
        if sorted(data["categories"]) != sorted(memory.categories or []):
            # In catalogue order, the order the form shows them in.
            changed["categories"] = data["categories"]
        return changed


class RestoreVersionForm(forms.Form):
    """The reason of a restore from the history (its default names the version)."""

    reason = forms.CharField(
        required=False,
        strip=True,
        max_length=MAX_REASON_CHARS,
        error_messages={
            "max_length": f"The reason can be at most {MAX_REASON_CHARS} characters "
            "(it has %(show_value)d)."
        },
    )


class TextareaField(forms.CharField):
    """A textarea's text with the line breaks browsers send (CRLF) as the API stores them (LF):
    saving a form unchanged must change nothing (and write no settings.change to the trail)."""

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value)).replace("\r\n", "\n")


class ProjectSettingsForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = TextareaField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    custom_instructions = TextareaField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="What to extract from conversations (and what to ignore), for every add.",
    )
    agent_custom_instructions = TextareaField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The same, for memories about agents.",
    )
    custom_categories = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "mono"}),
        help_text=("One per line, as 'name: description'. Empty: the default catalogue is used."),
    )
    # Not required: a form that leaves it out (an older page, a script) keeps the mode.
    pii_mode = forms.ChoiceField(
        label="Personal data in memory text",
        choices=PiiMode.choices,
        required=False,
        help_text=(
            "What every write does with the emails, phone numbers, card numbers, IBANs, "
            "IP addresses and national identifiers it finds."
        ),
    )
    attribution = forms.ChoiceField(
        label="Memories of an add naming several entities",
        choices=Attribution.choices,
        required=False,
        help_text=(
            "By speaker (Mem0's platform guide): a memory from a user message gets the user_id, "
            "one from an assistant message the agent_id. All ids (the entity-scoping guide): "
            "every memory carries every id of the call, so filtering by user and agent together "
            "finds it."
        ),
    )

    # Shown beside the field, so an admin sees what a custom list would replace.
    default_categories = DEFAULT_CATEGORIES

    @classmethod
    def for_project(cls, project: Project) -> ProjectSettingsForm:
        lines = [
            # "name:" even without a description: a line without a colon is refused.
            f"{c.name}: {c.description}" if c.description else f"{c.name}:"
            for c in project.categories.all()
        ]
        return cls(
            initial={
                "name": project.name,
                "description": project.description,
                "custom_instructions": project.custom_instructions,
                "agent_custom_instructions": project.agent_custom_instructions,
                "custom_categories": "\n".join(lines),
                "pii_mode": project.pii_mode,
                "attribution": project.attribution,
            }
        )

    def clean_custom_categories(self) -> list[dict[str, str]]:
        categories = []
        for number, line in enumerate(self.cleaned_data["custom_categories"].splitlines(), 1):
            if not line.strip():
                continue
            name, colon, description = line.partition(":")
            if not colon:
                # A forgotten colon would silently make the whole line a name with no
                # description, which the extraction prompt then shows as it is.
                raise forms.ValidationError(
                    f"line {number} ({quoted(line.strip())}) has no colon; "
                    "write it as 'name: description' (or 'name:' for no description)"
                )
            if not name.strip():
                raise forms.ValidationError(f"line {number}: a category needs a name")
            categories.append({name.strip(): description.strip()})
        try:
            # The API's checks (duplicates, the limits), shown on this field.
            parse_categories(categories)
        except InvalidRequest as exc:
            raise forms.ValidationError(exc.detail) from exc
        return categories

    def settings_payload(self) -> dict:
        """What memories.project_settings.update_project takes (the API's PATCH body)."""
        data = dict(self.cleaned_data)
        for name in ("pii_mode", "attribution"):
            if not data.get(name):
                data.pop(name, None)
        return data
