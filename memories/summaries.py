"""Summaries of memories (Mem0's `POST /v1/summary/`, the SDK's `get_summary(filters)`).

A summary is written by the LLM, in the request, from the newest MAX_SUMMARY_MEMORIES memories
the filter matches (unexpired ones, as a list shows them). The cap keeps one call's prompt and
latency bounded whatever the filter matches; the answer names the memories read and says
whether more matched. Nothing is stored: a summary is a read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from core.errors import UpstreamFailed, UpstreamUnavailable
from memories import listing, llm, prompts
from memories.models import Memory
from tenancy.models import Project

MAX_SUMMARY_MEMORIES = 100


@dataclass
class Summary:
    """A summary and what it was written from."""

    text: str
    memories: list[Memory]
    # More memories matched than MAX_SUMMARY_MEMORIES: only the newest were read.
    truncated: bool
    filters: dict[str, Any]
    generated_at: dt.datetime
    usage: llm.Usage = field(default_factory=llm.Usage)


def summarise(project: Project, filters: dict[str, Any]) -> Summary:
    """Summarise the project's memories that `filters` (the filter language) matches.

    Raises InferenceUnavailable (501) without an LLM, UpstreamUnavailable (503) when the
    provider is down and UpstreamFailed (502) when it answers something unusable. No memory
    matching is not an error: the summary is then empty and the LLM is not called.
    """
    llm.require_configured()
    listed = listing.memory_list(project, filters, show_expired=False)
    rows = list(listed[: MAX_SUMMARY_MEMORIES + 1])
    truncated = len(rows) > MAX_SUMMARY_MEMORIES
    rows = rows[:MAX_SUMMARY_MEMORIES]
    usage = llm.Usage()
    text = _write(project, rows, usage) if rows else ""
    return Summary(
        text=text,
        memories=rows,
        truncated=truncated,
        filters=filters,
        generated_at=timezone.now(),
        usage=usage,
    )


def _write(project: Project, memories: list[Memory], usage: llm.Usage) -> str:
    shown = [
        {
            "memory": m.memory,
            "date": m.created_at.date().isoformat(),
            **{name: value for name, value in m.scope().items() if value},
        }
        for m in memories
    ]
    instructions = str((project.options or {}).get("summary_custom_instructions") or "")
    system, user = prompts.summary_prompt(shown, instructions)
    try:
        reply = llm.chat_json(task=prompts.SUMMARISE, system=system, user=user, usage=usage)
        return prompts.parse_summary(reply)
    except llm.LLMTransientError as exc:
        raise UpstreamUnavailable(f"{exc}; try again later") from exc
    except llm.LLMError as exc:
        raise UpstreamFailed(str(exc)) from exc
