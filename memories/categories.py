"""Mem0's default category catalogue, used when a project has no custom categories.

The migration 0002 copies it into Category rows (project = NULL) so admins can edit it; the
code falls back to this list when those rows are missing.
"""

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
