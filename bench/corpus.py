"""Synthetic but realistic memory texts and search queries for the benchmark.

Memories are short facts of the kind the extraction pipeline stores ("Is allergic to peanuts"),
built from templates and fillers, each with the category it belongs to and the role that said
it. Queries are the questions an agent asks before answering. Everything is deterministic for a
given random seed.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

CITIES = [
    "Lisbon", "Berlin", "Osaka", "Toronto", "Nairobi", "Austin", "Lyon", "Krakow", "Seoul",
    "Melbourne", "Porto", "Denver", "Bogota", "Helsinki", "Dublin", "Chennai", "Vancouver",
    "Marseille", "Hanoi", "Cape Town",
]  # fmt: skip
PLACES = [
    "Japan", "Iceland", "Peru", "Morocco", "the Alps", "Vietnam", "Portugal", "Norway",
    "New Zealand", "Mexico City", "Kenya", "Scotland", "Patagonia", "Bali", "Sicily", "Istanbul",
]  # fmt: skip
MONTHS = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip
ALLERGENS = [
    "peanuts", "shellfish", "gluten", "lactose", "tree nuts", "eggs", "soy", "sesame",
    "penicillin", "cat dander", "pollen", "strawberries",
]  # fmt: skip
CUISINES = [
    "Thai", "Italian", "Ethiopian", "Japanese", "Mexican", "Lebanese", "Korean", "Indian",
    "Peruvian", "Greek", "Vietnamese", "Georgian",
]  # fmt: skip
DIETS = ["vegan", "vegetarian", "pescatarian", "on a keto diet", "on a low-sodium diet", "halal"]
DISLIKED = ["cilantro", "olives", "mushrooms", "spicy food", "blue cheese", "raw onions"]
JOBS = [
    "a nurse", "a software engineer", "a high-school teacher", "an accountant", "an architect",
    "a chef", "a data analyst", "a product manager", "an electrician", "a lawyer",
    "a graphic designer", "a pharmacist",
]  # fmt: skip
EMPLOYERS = [
    "a hospital", "a fintech startup", "a public school", "a logistics company",
    "a small design studio", "a law firm", "a university", "an energy company",
]  # fmt: skip
SPORTS = ["tennis", "football", "basketball", "badminton", "volleyball", "squash"]
ACTIVITIES = [
    *(f"plays {sport}" for sport in SPORTS),
    "goes climbing", "goes swimming", "goes cycling", "does yoga", "goes running",
]  # fmt: skip
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
GENRES = ["jazz", "techno", "classical music", "hip hop", "indie rock", "k-pop", "bossa nova"]
INSTRUMENTS = ["the piano", "the guitar", "the violin", "the drums", "the cello", "the ukulele"]
PETS = ["dog", "cat", "parrot", "rabbit", "hamster", "tortoise"]
PET_NAMES = ["Luna", "Max", "Biscuit", "Pepper", "Milo", "Nala", "Ziggy", "Olive"]
CONDITIONS = ["asthma", "migraines", "type 2 diabetes", "high blood pressure", "insomnia"]
DEVICES = [
    "a MacBook Air", "a Linux laptop", "an iPad", "a Pixel phone", "an iPhone", "a Kindle",
    "a Windows desktop",
]  # fmt: skip
HOBBIES = [
    "gardening", "woodworking", "board games", "photography", "baking sourdough", "hiking",
    "knitting", "birdwatching", "chess", "painting watercolours",
]  # fmt: skip
SHOWS = [
    "science fiction novels", "true crime podcasts", "Studio Ghibli films", "detective series",
    "documentaries about space", "fantasy audiobooks",
]  # fmt: skip
CHANNELS = ["email", "text message", "phone", "the mobile app", "chat"]
TIMES = ["morning", "afternoon", "evening"]
RELATIVES = ["sister", "brother", "mother", "father", "daughter", "son", "grandmother"]
STYLES = ["minimalist", "vintage", "sporty", "formal", "colourful"]
PRODUCTS = [
    "the premium plan", "the family plan", "noise-cancelling headphones", "the annual pass",
    "the travel insurance add-on", "the standing desk",
]  # fmt: skip
ISSUES = [
    "a double charge", "a late delivery", "a login problem", "a broken screen",
    "a refund request", "a password reset", "a missing invoice",
]  # fmt: skip

# (category, role, template): filled with every combination of its fillers.
TEMPLATES: list[tuple[str, str, str, dict[str, list[str]]]] = [
    ("food", "user", "Is allergic to {a}", {"a": ALLERGENS}),
    ("food", "user", "Loves {a} food, especially on {b}s", {"a": CUISINES, "b": DAYS}),
    ("food", "user", "Is {a} and dislikes {b}", {"a": DIETS, "b": DISLIKED}),
    ("travel", "user", "Is planning a trip to {a} in {b}", {"a": PLACES, "b": MONTHS}),
    (
        "travel",
        "user",
        "Visited {a} and wants to go back with friends from {b}",
        {"a": PLACES, "b": CITIES},
    ),  # fmt: skip
    (
        "personal_details",
        "user",
        "Lives in {a} with a {b} named {c}",
        {"a": CITIES, "b": PETS, "c": PET_NAMES},
    ),  # fmt: skip
    ("family", "user", "Their {a} lives in {b}", {"a": RELATIVES, "b": CITIES}),
    ("professional_details", "user", "Works as {a} at {b}", {"a": JOBS, "b": EMPLOYERS}),
    ("sports", "user", "Usually {a} on {b}s", {"a": ACTIVITIES, "b": DAYS}),
    (
        "music",
        "user",
        "Listens to {a} and is learning to play {b}",
        {"a": GENRES, "b": INSTRUMENTS},
    ),  # fmt: skip
    (
        "health",
        "user",
        "Has {a} and prefers appointments in the {b}",
        {"a": CONDITIONS, "b": TIMES},
    ),  # fmt: skip
    ("technology", "user", "Uses {a} for work and {b} at home", {"a": DEVICES, "b": DEVICES}),
    ("hobbies", "user", "Enjoys {a} and {b} on weekends", {"a": HOBBIES, "b": HOBBIES}),
    ("entertainment", "user", "Is into {a} lately", {"a": SHOWS}),
    ("fashion", "user", "Prefers a {a} style and shops in {b}", {"a": STYLES, "b": CITIES}),
    (
        "milestones",
        "user",
        "Moved to {a} in {b} to start a new job as {c}",
        {"a": CITIES, "b": MONTHS, "c": JOBS},
    ),  # fmt: skip
    (
        "user_preferences",
        "user",
        "Prefers to be contacted by {a} in the {b}",
        {"a": CHANNELS, "b": TIMES},
    ),  # fmt: skip
    (
        "misc",
        "assistant",
        "Recommended {a} after the user asked about {b}",
        {"a": PRODUCTS, "b": ISSUES},
    ),  # fmt: skip
    (
        "misc",
        "assistant",
        "Opened a support ticket about {a} and promised a reply by {b}",
        {"a": ISSUES, "b": DAYS},
    ),  # fmt: skip
    ("travel", "assistant", "Suggested flights to {a} for {b}", {"a": PLACES, "b": MONTHS}),
]

QUESTIONS = [
    "What is the user allergic to?",
    "Does the user have any food allergies?",
    "What kind of food does the user like?",
    "Is the user vegetarian or vegan?",
    "Where is the user travelling next?",
    "Has the user been to {place} before?",
    "Any plans for a trip to {place}?",
    "Where does the user live?",
    "Does the user have pets?",
    "What is the name of the user's {pet}?",
    "What does the user do for a living?",
    "Where does the user work?",
    "Which sports does the user play?",
    "Does the user play {sport}?",
    "What music does the user listen to?",
    "Does the user play an instrument?",
    "Does the user have any health conditions?",
    "When does the user prefer appointments?",
    "What devices does the user use?",
    "What are the user's hobbies?",
    "What does the user do on weekends?",
    "What shows or books is the user into?",
    "How should I contact the user?",
    "What did we recommend to the user last time?",
    "Is there an open support ticket about {issue}?",
    "Where does the user's {relative} live?",
    "When did the user move to {city}?",
    "Suggest a restaurant for someone who loves {cuisine} food",
    "Plan a weekend in {city}",
    "Gift ideas for someone who enjoys {hobby}",
]


@dataclass(frozen=True)
class Fact:
    text: str
    category: str
    role: str
    template: str


def facts(count: int, rng: random.Random) -> list[Fact]:
    """`count` distinct facts, spread evenly over the templates (fewer if the corpus runs out)."""
    per_template = []
    for category, role, template, fillers in TEMPLATES:
        names = list(fillers)
        combos = list(itertools.product(*(fillers[name] for name in names)))
        rng.shuffle(combos)
        per_template.append(
            [
                Fact(
                    template.format(**dict(zip(names, combo, strict=True))),
                    category,
                    role,
                    template,
                )
                for combo in combos
                if len(set(combo)) == len(combo)
            ]
        )
    chosen: list[Fact] = []
    for row in itertools.zip_longest(*per_template):
        chosen.extend(fact for fact in row if fact is not None)
        if len(chosen) >= count:
            break
    return chosen[:count]


def questions(count: int, rng: random.Random) -> list[str]:
    """`count` search queries (with repeats once the templates run out)."""
    fillers = {
        "place": PLACES,
        "pet": PETS,
        "sport": SPORTS,
        "issue": ISSUES,
        "relative": RELATIVES,
        "city": CITIES,
        "cuisine": CUISINES,
        "hobby": HOBBIES,
    }
    result = []
    for _ in range(count):
        question = rng.choice(QUESTIONS)
        result.append(
            question.format(**{key: rng.choice(values) for key, values in fillers.items()})
        )
    return result


def combined(first: Fact, second: Fact) -> str:
    """A new fact made of two (for adds, which must not repeat stored texts)."""
    return f"{first.text}; also {second.text[0].lower()}{second.text[1:]}"
