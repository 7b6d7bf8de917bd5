"""Mem0's default category catalogue, used when a project has no custom categories, and the
limits on custom ones.

The migration 0002 copies it into Category rows (project = NULL) so admins can edit it; the
code falls back to this list when those rows are missing.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from core.text import quoted


def category_limit_problem(categories: Sequence[tuple[str, str]]) -> str | None:
    """What breaks the custom-category limits in (name, description) pairs, as the end of a
    sentence that names the list ("custom_categories has ..."); None when nothing does.

    Every category of a project (or of one add) goes into the extraction prompt, so their
    number and size are bounded (MEMDASH_MAX_CATEGORIES and the two _CHARS settings).
    """
    most = settings.MEMDASH_MAX_CATEGORIES
    if len(categories) > most:
        return f"has {len(categories)} categories; at most {most} (MEMDASH_MAX_CATEGORIES)"
    name_chars = settings.MEMDASH_MAX_CATEGORY_NAME_CHARS
    description_chars = settings.MEMDASH_MAX_CATEGORY_DESCRIPTION_CHARS
    for name, description in categories:
        if len(name) > name_chars:
            return (
                f"has a category name of {len(name)} characters ({quoted(name)}); "
                f"at most {name_chars} (MEMDASH_MAX_CATEGORY_NAME_CHARS)"
            )
        if len(description) > description_chars:
            return (
                f"has a description of {len(description)} characters (category {quoted(name)}); "
                f"at most {description_chars} (MEMDASH_MAX_CATEGORY_DESCRIPTION_CHARS)"
            )
    return None


DEFAULT_CATEGORIES = [
    ("personal_details", "Personal information: name, age, location, relationships, identity"),
    ("family", "Family members, family events and relationships"),
    ("professional_details", "Job, career, workplace, skills and professional goals"),
    ("sports", "Sports played or followed, teams, fitness activities"),
    ("travel", "Trips, destinations, travel plans and preferences"),
    ("food", "Food, diet, cuisines, allergies and eating habits"),
    ("music", "Music tastes, artists, instruments and concerts"),
    ("health", "Health conditions, medications, allergies, wellbeing"),
    ("technology", "Devices, software, programming and technical interests"),
    ("hobbies", "Hobbies and leisure activities"),
    ("fashion", "Clothing, style and fashion preferences"),
    ("entertainment", "Movies, shows, books, games and other entertainment"),
    ("milestones", "Important life events and achievements"),
    ("user_preferences", "General likes, dislikes and preferences"),
    ("misc", "Anything that fits no other category"),
]
