"""PII detection on write (memories.pii): what it finds, and what each project mode stores.

The labelled set (tests/memories/pii_cases.py) reports precision and recall per kind; `pytest -s`
prints the table. Every write path is driven through the API in each mode: infer=false adds,
updates, batch updates and the extraction pipeline (the scripted LLM).
"""

import socket
import uuid

import numpy as np
import pytest
from django.core.management import call_command

from audit.models import AuditEntry
from core.api.errors import error_body
from memories import embeddings, pii
from memories.models import Event, Memory, MemoryHistory
from tests.conftest import add_verbatim
from tests.memories.pii_cases import CASES

pytestmark = pytest.mark.django_db

# Thresholds per kind on the labelled set (figures in the closing note of issue 11).
MIN_PRECISION = 0.9
MIN_RECALL = 0.9

PHONE_TEXT = "Call me at (415) 555-0132 after six"
PHONE_REDACTED = "Call me at <PHONE> after six"


def set_mode(project, mode):
    project.pii_mode = mode
    project.save(update_fields=["pii_mode"])


# --- detection -----------------------------------------------------------------------------------


def test_precision_and_recall_per_kind():
    assert len(CASES) >= 200
    found = [(set(expected), set(pii.kinds_in(text))) for text, expected in CASES]
    kinds = sorted({kind for expected, got in found for kind in expected | got})
    assert set(kinds) == set(pii.KINDS)
    rows, failing = [], []
    for kind in kinds:
        tp = sum(1 for expected, got in found if kind in expected and kind in got)
        fp = sum(1 for expected, got in found if kind not in expected and kind in got)
        fn = sum(1 for expected, got in found if kind in expected and kind not in got)
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        rows.append(f"{kind:16} {tp:4} {fp:4} {fn:4} {precision:10.3f} {recall:7.3f}")
        if precision < MIN_PRECISION or recall < MIN_RECALL:
            failing.append(kind)
    clean = [got for expected, got in found if not expected]
    flagged = sum(1 for got in clean if got)
    print(f"\n{'kind':16} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>10} {'recall':>7}")
    print("\n".join(rows))
    print(f"{len(CASES)} cases; {flagged} of {len(clean)} without personal data flagged")
    assert failing == []
    assert flagged / len(clean) <= 0.02


def test_the_recognizers_that_run():
    assert pii.recognizer_names() == [
        "PhoneRecognizer",
        "IpRecognizer",
        "EmailRecognizer",
        "CreditCardRecognizer",
        "IbanRecognizer",
        "UsSsnRecognizer",
        "UsItinRecognizer",
        "UsPassportRecognizer",
        "UkNinoRecognizer",
        "NhsRecognizer",
        "EsNifRecognizer",
        "EsNieRecognizer",
        "ItFiscalCodeRecognizer",
        "PlPeselRecognizer",
        "InAadhaarRecognizer",
        "InPanRecognizer",
        "SgFinRecognizer",
        "AuTfnRecognizer",
        "AuAbnRecognizer",
        "CaSinRecognizer",
    ]


def test_detection_loads_no_model_and_reaches_no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("PII detection tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    pii._build_engine.cache_clear()
    try:
        assert pii.kinds_in("Write to maria.lopez@example.com or call +44 20 7946 0958") == [
            "email",
            "phone",
        ]
    finally:
        pii._build_engine.cache_clear()


def test_texts_without_digits_or_at_signs_skip_the_analyzer(monkeypatch):
    monkeypatch.setattr(pii, "_engine", lambda: pytest.fail("the analyzer ran"))
    assert pii.detect("Is allergic to peanuts and prefers window seats") == []


def test_redaction_replaces_each_span_with_its_placeholder():
    text = "Mail dana@example.com, card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00"
    assert pii.redact_text(text) == "Mail <EMAIL>, card <CARD>, IBAN <IBAN>"


def test_one_number_is_one_kind():
    # A valid NHS number is also a well-formed phone number: the NHS context decides.
    assert pii.kinds_in("Her NHS number is 943 476 5919") == ["uk_nhs"]
    assert pii.kinds_in("Call 943 476 5919 for the shop") == ["phone"]


# --- infer=false adds ----------------------------------------------------------------------------


def test_flag_mode_stores_the_text_and_the_kinds(api, project):
    result = add_verbatim(api, PHONE_TEXT, user_id="alex")[0]
    memory = Memory.objects.get(pk=result["id"])
    assert (memory.memory, memory.pii_kinds) == (PHONE_TEXT, ["phone"])
    assert result["memory"] == PHONE_TEXT
    assert MemoryHistory.objects.get(memory_id=memory.pk).pii_redacted is None
    plain = add_verbatim(api, "Likes tea", user_id="alex")[0]
    assert Memory.objects.get(pk=plain["id"]).pii_kinds == []


def test_redact_mode_stores_and_embeds_the_redacted_text(api, project):
    set_mode(project, "redact")
    text = "Reach me at dana@example.com or (415) 555-0132"
    result = add_verbatim(api, text, user_id="alex")[0]
    redacted = "Reach me at <EMAIL> or <PHONE>"
    assert result["memory"] == redacted
    memory = Memory.objects.get(pk=result["id"])
    assert (memory.memory, memory.pii_kinds) == (redacted, ["email", "phone"])
    assert np.allclose(memory.embedding, embeddings.embed_one(redacted), atol=1e-5)
    row = MemoryHistory.objects.get(memory_id=memory.pk)
    assert row.new_memory == redacted
    assert row.pii_redacted == {"email": 1, "phone": 1}
    assert row.input == [{"role": "user", "content": redacted}]
    # Nothing memdash keeps of the call holds the values.
    event = Event.objects.get(pk=memory.source_event_id)
    assert "555-0132" not in str(event.payload) and "dana@" not in str(event.results)
    assert "555-0132" not in str(list(MemoryHistory.objects.values()))


def test_redact_mode_finds_duplicates_by_the_stored_text(api, project):
    set_mode(project, "redact")
    add_verbatim(api, PHONE_TEXT, user_id="alex")
    assert add_verbatim(api, PHONE_TEXT, user_id="alex") == []
    assert Memory.objects.get().memory == PHONE_REDACTED


def test_reject_mode_refuses_the_add_and_writes_nothing(api, project):
    set_mode(project, "reject")
    messages = [
        {"role": "user", "content": "I like tea"},
        {"role": "user", "content": "My SSN is 536-90-4399, email ana@example.com"},
    ]
    response = api.post(
        "/v3/memories/add/",
        {"messages": messages, "user_id": "alex", "infer": False},
        format="json",
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "email address (email)" in detail and "US social security number (us_ssn)" in detail
    assert "536-90-4399" not in detail
    assert not Memory.objects.exists()
    assert not MemoryHistory.objects.exists()
    assert not Event.objects.exists()
    assert add_verbatim(api, "I like tea", user_id="alex")[0]["memory"] == "I like tea"


def test_detection_off_records_nothing_and_refuses_nothing(api, project, settings):
    settings.MEMDASH_PII_DETECTION = False
    set_mode(project, "reject")
    result = add_verbatim(api, PHONE_TEXT, user_id="alex")[0]
    assert Memory.objects.get(pk=result["id"]).pii_kinds is None


# --- updates -------------------------------------------------------------------------------------


def update(api, memory_id, text):
    return api.put(f"/v1/memories/{memory_id}/", {"text": text}, format="json")


@pytest.mark.parametrize(
    ("mode", "stored", "redacted"),
    [("flag", PHONE_TEXT, None), ("redact", PHONE_REDACTED, {"phone": 1})],
)
def test_update_screens_the_new_text(api, project, mode, stored, redacted):
    memory_id = add_verbatim(api, "Likes tea", user_id="alex")[0]["id"]
    set_mode(project, mode)
    response = update(api, memory_id, PHONE_TEXT)
    assert response.status_code == 200, response.content
    memory = Memory.objects.get(pk=memory_id)
    assert (memory.memory, memory.pii_kinds) == (stored, ["phone"])
    assert np.allclose(memory.embedding, embeddings.embed_one(stored), atol=1e-5)
    row = MemoryHistory.objects.get(memory_id=memory_id, event="UPDATE")
    assert (row.old_memory, row.new_memory, row.pii_redacted) == ("Likes tea", stored, redacted)
    assert update(api, memory_id, "Likes coffee").status_code == 200
    assert Memory.objects.get(pk=memory_id).pii_kinds == []


def test_reject_mode_refuses_the_update(api, project):
    memory_id = add_verbatim(api, "Likes tea", user_id="alex")[0]["id"]
    set_mode(project, "reject")
    response = update(api, memory_id, "Pays with 4111 1111 1111 1111")
    assert response.status_code == 400
    assert "payment card number (card)" in response.json()["detail"]
    assert Memory.objects.get(pk=memory_id).memory == "Likes tea"
    assert not MemoryHistory.objects.filter(event="UPDATE").exists()
    # Metadata alone is no text to screen.
    response = api.put(f"/v1/memories/{memory_id}/", {"metadata": {"a": 1}}, format="json")
    assert response.status_code == 200


def batch(api, *updates):
    return api.put("/v1/batch/", {"memories": list(updates)}, format="json")


def test_batch_update_in_each_mode(api, project):
    first = add_verbatim(api, "Likes tea", user_id="alex")[0]["id"]
    second = add_verbatim(api, "Likes cake", user_id="alex")[0]["id"]
    # flag
    response = batch(
        api,
        {"memory_id": first, "text": "Email: ana@example.com"},
        {"memory_id": second, "metadata": {"note": "x"}},
    )
    assert response.status_code == 200, response.content
    assert Memory.objects.get(pk=first).pii_kinds == ["email"]
    assert Memory.objects.get(pk=second).pii_kinds == []
    # redact
    set_mode(project, "redact")
    response = batch(
        api,
        {"memory_id": first, "text": "Server 10.0.0.7 and 10.0.0.8"},
        {"memory_id": second, "text": "Likes cheesecake"},
    )
    assert response.status_code == 200, response.content
    memory = Memory.objects.get(pk=first)
    assert (memory.memory, memory.pii_kinds) == ("Server <IP> and <IP>", ["ip"])
    last = MemoryHistory.objects.filter(memory_id=first).order_by("-created_at").first()
    assert last.pii_redacted == {"ip": 2}
    assert MemoryHistory.objects.filter(memory_id=second).last().pii_redacted is None
    # reject: all or nothing
    set_mode(project, "reject")
    response = batch(
        api,
        {"memory_id": second, "text": "Likes pie"},
        {"memory_id": first, "text": "IBAN GB29 NWBK 6016 1331 9268 19"},
    )
    assert response.status_code == 400
    assert "IBAN (iban)" in response.json()["detail"]
    assert Memory.objects.get(pk=second).memory == "Likes cheesecake"


# --- the extraction pipeline ---------------------------------------------------------------------

CONVERSATION = [{"role": "user", "content": "You can text me on (415) 555-0132, I'm Dana."}]
FACTS = {
    "facts": [
        {"text": "Phone number is (415) 555-0132", "message": 1},
        {"text": "Name is Dana", "message": 1},
    ]
}


def add_inferred(api, messages):
    body = {"messages": messages, "user_id": "dana", "async_mode": False, "output_format": "v1.1"}
    return api.post("/v1/memories/", body, format="json")


def test_pipeline_flags_what_it_adds(api, project, fake_llm):
    fake_llm.on("extract facts", reply=FACTS)
    assert add_inferred(api, CONVERSATION).status_code == 200
    kinds = dict(Memory.objects.values_list("memory", "pii_kinds"))
    assert kinds == {"Phone number is (415) 555-0132": ["phone"], "Name is Dana": []}


def test_pipeline_redacts_adds_updates_history_and_its_event(api, project, fake_llm):
    set_mode(project, "redact")
    old_id = add_verbatim(api, "Name is Dana", user_id="dana")[0]["id"]
    fake_llm.on("extract facts", reply=FACTS)
    fake_llm.on(
        "update memories",
        reply={
            "memory": [
                {"event": "ADD", "text": "Phone number is (415) 555-0132"},
                {"event": "UPDATE", "id": "0", "text": "Name is Dana, email dana@example.com"},
            ]
        },
    )
    response = add_inferred(api, CONVERSATION)
    assert response.status_code == 200, response.content
    texts = dict(Memory.objects.values_list("memory", "pii_kinds"))
    assert texts == {"Phone number is <PHONE>": ["phone"], "Name is Dana, email <EMAIL>": ["email"]}
    assert "555-0132" not in str(response.json()) and "dana@" not in str(response.json())
    updated = MemoryHistory.objects.get(memory_id=old_id, event="UPDATE")
    assert (updated.new_memory, updated.pii_redacted) == (
        "Name is Dana, email <EMAIL>",
        {"email": 1},
    )
    added = MemoryHistory.objects.get(event="ADD", actor="pipeline")
    assert added.pii_redacted == {"phone": 1}
    assert added.input == [{"role": "user", "content": "You can text me on <PHONE>, I'm Dana."}]
    event = Event.objects.get(metadata__infer=True)
    assert event.payload["messages"] == added.input
    assert np.allclose(
        Memory.objects.get(memory="Phone number is <PHONE>").embedding,
        embeddings.embed_one("Phone number is <PHONE>"),
        atol=1e-5,
    )


def test_pipeline_reject_mode_fails_the_add_and_writes_no_memory(api, project, fake_llm):
    set_mode(project, "reject")
    fake_llm.on("extract facts", reply=FACTS)
    response = add_inferred(api, CONVERSATION)
    assert response.status_code == 400
    assert "phone number (phone)" in response.json()["detail"]
    assert not Memory.objects.exists()
    event = Event.objects.get(metadata__infer=True)
    assert event.status == "FAILED" and "phone number (phone)" in event.error


# --- the filter key ------------------------------------------------------------------------------


def listed(api, filters):
    response = api.post("/v3/memories/", {"filters": filters}, format="json")
    assert response.status_code == 200, response.content
    return sorted(m["memory"] for m in response.json()["results"])


def test_the_pii_filter_key(api):
    add_verbatim(api, PHONE_TEXT, user_id="alex")
    add_verbatim(api, "Email ana@example.com", user_id="alex")
    add_verbatim(api, "Likes tea", user_id="alex")
    add_verbatim(api, "Call +44 20 7946 0958", user_id="bob")
    alex = {"user_id": "alex"}
    assert listed(api, {"AND": [alex, {"pii": "phone"}]}) == [PHONE_TEXT]
    assert listed(api, {"AND": [alex, {"pii": {"in": ["phone", "email"]}}]}) == [
        PHONE_TEXT,
        "Email ana@example.com",
    ]
    assert len(listed(api, {"AND": [alex, {"pii": True}]})) == 2
    assert listed(api, {"AND": [alex, {"pii": False}]}) == ["Likes tea"]
    assert listed(api, {"AND": [alex, {"NOT": {"pii": "email"}}]}) == [PHONE_TEXT, "Likes tea"]
    assert listed(api, {"pii": {"eq": "phone"}, "user_id": "*"}) == [
        "Call +44 20 7946 0958",
        PHONE_TEXT,
    ]


def test_the_pii_filter_key_refuses_unknown_kinds(api):
    response = api.post("/v3/memories/", {"filters": {"pii": "shoe_size"}}, format="json")
    assert response.status_code == 400
    assert "'shoe_size' is not a kind of personal data" in response.json()["detail"]
    response = api.post("/v3/memories/", {"filters": {"pii": {"all": ["phone"]}}}, format="json")
    assert response.status_code == 400


# --- the project setting -------------------------------------------------------------------------


def test_pii_mode_through_the_project_settings_api(api, project):
    path = (
        f"/api/v1/orgs/organizations/{project.organization.public_id}/projects/{project.public_id}/"
    )
    assert api.get(path).json()["pii_mode"] == "flag"
    assert api.patch(path, {"pii_mode": "redact"}, format="json").status_code == 200
    project.refresh_from_db()
    assert project.pii_mode == "redact"
    entry = AuditEntry.objects.filter(action="settings.change").latest("id")
    assert entry.details == {"pii_mode": {"before": "flag", "after": "redact"}}
    response = api.patch(path, {"pii_mode": "shout"}, format="json")
    assert response.json() == error_body("pii_mode must be one of: flag, redact, reject")


def test_viewers_cannot_change_the_mode(viewer_api, project):
    path = (
        f"/api/v1/orgs/organizations/{project.organization.public_id}/projects/{project.public_id}/"
    )
    assert viewer_api.patch(path, {"pii_mode": "flag"}, format="json").status_code == 403


# --- backfill ------------------------------------------------------------------------------------


def unscreened(api, text, **ids):
    memory = Memory.objects.get(pk=add_verbatim(api, text, **ids)[0]["id"])
    Memory.objects.filter(pk=memory.pk).update(pii_kinds=None)
    return memory.pk


def test_backfill_flags_unscreened_memories_in_batches(api, project, other_project, capsys):
    phone = unscreened(api, PHONE_TEXT, user_id="alex")
    plain = unscreened(api, "Likes tea", user_id="alex")
    email = unscreened(api, "Email ana@example.com", user_id="bob")
    screened = uuid.UUID(add_verbatim(api, "Has a cat", user_id="alex")[0]["id"])
    set_mode(project, "redact")  # the backfill flags only, whatever the mode
    call_command("backfill_pii", "--batch-size", "2")
    out = capsys.readouterr().out
    # Batches of 2, keyset by id: which memory comes first is the ids' order.
    assert "  2/3 screened, " in out and "  3/3 screened, 2 with personal data" in out
    assert "screened 3 memories: 2 with personal data" in out
    kinds = dict(Memory.objects.values_list("pk", "pii_kinds"))
    assert kinds[phone] == ["phone"] and kinds[plain] == [] and kinds[email] == ["email"]
    assert kinds[screened] == []
    assert Memory.objects.get(pk=phone).memory == PHONE_TEXT
    # Idempotent: nothing left to do.
    call_command("backfill_pii")
    assert "0 memories not screened yet" in capsys.readouterr().out


def test_backfill_of_one_project(api, project, other_api):
    mine = unscreened(api, PHONE_TEXT, user_id="alex")
    theirs = unscreened(other_api, PHONE_TEXT, user_id="alex")
    call_command("backfill_pii", "--project", project.public_id)
    assert Memory.objects.get(pk=mine).pii_kinds == ["phone"]
    assert Memory.objects.get(pk=theirs).pii_kinds is None
    call_command("backfill_pii", "--dry-run")
    assert Memory.objects.get(pk=theirs).pii_kinds is None


def test_backfill_skips_a_memory_changed_while_it_ran(api, project, monkeypatch):
    memory_id = unscreened(api, PHONE_TEXT, user_id="alex")
    original = pii.kinds_in

    def racing(text):
        # A writer changes the memory between the backfill's read and its update.
        Memory.objects.filter(pk=memory_id).update(memory="Likes tea", hash="0" * 32)
        return original(text)

    monkeypatch.setattr(pii, "kinds_in", racing)
    call_command("backfill_pii")
    assert Memory.objects.get(pk=memory_id).pii_kinds is None
