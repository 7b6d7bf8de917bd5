"""HTMX helpers shared by every dashboard view.

One URL serves two renderings: the full page, and (for htmx requests that swap part of the page)
an inline partial of the same template. `is_partial` is the only place that decides which.
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.views.decorators.vary import vary_on_headers
from django_htmx.middleware import HtmxDetails

# The headers that choose between the page and a fragment. A cache (the browser's included)
# must not answer a history-restore request, or a request for another fragment, with a
# fragment it stored for a different one.
vary_on_htmx = vary_on_headers("HX-Request", "HX-Target", "HX-History-Restore-Request")


class HtmxHttpRequest(HttpRequest):
    """A request that django-htmx's middleware has given its `htmx` details (every request)."""

    htmx: HtmxDetails


def is_partial(request: HttpRequest) -> bool:
    """True when the response should be a fragment rather than the whole page.

    Boosted requests swap the whole body, and history-restore requests (htmx 2 sends them with
    `HX-Request: true` after a history cache miss) must get the full page, or the back button
    shows a bare fragment.
    """
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def template_for(request: HtmxHttpRequest, template: str, partials: tuple[str, ...]) -> str:
    """The page, or its inline partial named like the element htmx targets (HX-Target).

    Partial name = DOM id = hx-target, so the id htmx sends picks the fragment; a target the
    page has no partial for gets the full page.
    """
    target = request.htmx.target if is_partial(request) else None
    return f"{template}#{target}" if target in partials else template


def toast(
    response: HttpResponse, message: str, *, level: str = "success", url: str | None = None
) -> HttpResponse:
    """Ask the page to show a toast (static/memdash.js listens for the `toast` event), with a
    link to `url` (such as the Event a delete made) when given.

    Merges with any HX-Trigger events already set on the response.
    """
    events = json.loads(response.headers.get("HX-Trigger") or "{}")
    events["toast"] = {"message": message, "level": level}
    if url:
        events["toast"]["url"] = url
    response.headers["HX-Trigger"] = json.dumps(events)
    return response
