"""A dashboard user's remembered choices in one project (`Membership.preferences`), such as
which optional columns the memory table shows.

Every member may set their own, viewers included: a preference changes what they see, never
what the project holds. Values are checked here, so the dashboard's view stays thin and a
hand-made POST cannot store anything the table would not understand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.errors import InvalidRequest
from core.text import quoted
from tenancy.models import Membership

# The memory table's optional columns, in the order the table shows them. Each one is a field
# of the memory row itself, so showing it costs no query.
MEMORY_COLUMNS = {
    "agent_id": "Agent",
    "app_id": "App",
    "run_id": "Run",
    "categories": "Categories",
    "updated_at": "Updated",
}
MAX_METADATA_KEYS = 5
MAX_METADATA_KEY_CHARS = 64


@dataclass(frozen=True)
class TableColumns:
    """What the memory table shows besides the text, personal data and date."""

    names: tuple[str, ...] = ()
    metadata_keys: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        """How many optional columns: the empty row's colspan adds it."""
        return len(self.names) + len(self.metadata_keys)

    @property
    def chip_labels(self) -> set[str]:
        """Scope chips the text cell leaves out because their own column shows them."""
        return {MEMORY_COLUMNS[name].lower() for name in self.names if name.endswith("_id")}

    @property
    def choices(self) -> list[tuple[str, str]]:
        """Every optional column as (name, label), for the picker."""
        return list(MEMORY_COLUMNS.items())

    @property
    def shows(self) -> dict[str, bool]:
        """{column: True} for each chosen column, for templates (`columns.shows.updated_at`)."""
        return dict.fromkeys(self.names, True)


def memory_columns(membership: Membership | None) -> TableColumns:
    """The columns this member chose; anything stored that is no longer known is skipped."""
    stored = (membership.preferences or {}) if membership is not None else {}
    names = stored.get("memory_columns") or []
    keys = stored.get("metadata_keys") or []
    return TableColumns(
        names=tuple(name for name in MEMORY_COLUMNS if name in names),
        metadata_keys=tuple(k for k in keys if isinstance(k, str))[:MAX_METADATA_KEYS],
    )


def set_memory_columns(
    membership: Membership, names: Sequence[str], metadata_keys: Sequence[str]
) -> TableColumns:
    """Remember the member's columns; InvalidRequest (nothing saved) for an unknown column or
    metadata keys beyond the bounds (at most MAX_METADATA_KEYS, each of at most
    MAX_METADATA_KEY_CHARS characters)."""
    unknown = [name for name in names if name not in MEMORY_COLUMNS]
    if unknown:
        raise InvalidRequest(
            f"unknown column {quoted(unknown[0])}; the columns are {', '.join(MEMORY_COLUMNS)}"
        )
    keys: list[str] = []
    for key in metadata_keys:
        key = key.strip()
        if not key or key in keys:
            continue
        if len(key) > MAX_METADATA_KEY_CHARS:
            raise InvalidRequest(
                f"metadata key {quoted(key[:20] + '…')} has {len(key)} characters; "
                f"at most {MAX_METADATA_KEY_CHARS}"
            )
        keys.append(key)
    if len(keys) > MAX_METADATA_KEYS:
        raise InvalidRequest(f"{len(keys)} metadata keys; at most {MAX_METADATA_KEYS}")
    chosen = [name for name in MEMORY_COLUMNS if name in names]
    membership.preferences = {
        **(membership.preferences or {}),
        "memory_columns": chosen,
        "metadata_keys": keys,
    }
    membership.save(update_fields=["preferences"])
    return memory_columns(membership)
