"""Erasure of a data subject, tested as an auditor would: after it, every text, varchar and
jsonb column of every table is scanned for the subject's strings, and every API answer about
the subject's old ids is read."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest
from django.core.management import call_command
from django.db import connection

from core import receipts
from entities.models import Entity
from memories import erasure, exports, profiles, services
from memories.models import Erasure, Event, Export, Memory, MemoryHistory
from tenancy.models import Role
from tenancy.services import create_api_key
from tests.conftest import add_verbatim, api_client
from tests.dashboard.conftest import logged_in, make_user

pytestmark = pytest.mark.django_db

# Strings only the subject ever said: none may survive the erasure anywhere.
PHONE = "ZQX-555-0199-MARIA"
ALLERGY = "QQK-allergic-to-kiwi-MARIA"
SECRET = "VVW-locker-code-4417-MARIA"
MARIA = "maria-7c1d"
MARKERS = (PHONE, ALLERGY, SECRET, MARIA)


@pytest.fixture
def compliance_api(project):
    return api_client(create_api_key(project, role=Role.COMPLIANCE, name="officer"))


def world(api, fake_llm=None):
    """maria's data reaching every place memdash stores text, and other people's beside it."""
    # Verbatim, with the support agent on the same ticket: her lines land in the agent's input.
    add_verbatim(
        api,
        [
            {"role": "user", "content": f"My phone is {PHONE}"},
            {"role": "assistant", "content": "Thanks, noted your phone number."},
        ],
        user_id=MARIA,
        agent_id="support",
        run_id="ticket-1",
        metadata={"ticket": "T-1"},
    )
    kiwi = add_verbatim(api, f"I am {ALLERGY}", user_id=MARIA)[0]["id"]
    # Edited, then deleted the ordinary way: the history keeps both texts until the erasure.
    api.put(f"/v1/memories/{kiwi}/", {"text": f"Still {ALLERGY}"}, format="json")
    api.delete(f"/v1/memories/{kiwi}/")
    # A group chat: maria speaks by name in a call about bob; her line sits in bob's input.
    add_verbatim(
        api,
        [
            {"role": "user", "name": "Maria-7c1d", "content": f"The code is {SECRET}"},
            {"role": "user", "content": "Bob here, I like chess"},
        ],
        user_id="bob",
    )
    add_verbatim(api, "Carol likes tea", user_id="carol")
    # Bob mentions her by id: someone else's memory, for the officer to review.
    add_verbatim(api, f"Bob met {MARIA} at the desk", user_id="bob")
    if fake_llm is not None:
        # Through inference: the facts the scripted LLM extracts carry her strings too.
        fake_llm.on(
            "extract facts",
            reply={"facts": [{"text": f"Has {ALLERGY} and {PHONE}", "message": 1}]},
        )
        fake_llm.on("categorize memories", reply={"categories": [["health"]]})
        response = api.post(
            "/v1/memories/",
            {
                "messages": [{"role": "user", "content": f"Remember {ALLERGY}, call {PHONE}"}],
                "user_id": MARIA,
                "async_mode": False,
            },
            format="json",
        )
        assert response.status_code == 200, response.content
        # Her profile, written by the LLM from her memories.
        api.post("/v2/profiles/settings/", {"enabled": True}, format="json")
        fake_llm.on("write user profile", reply={"summary": f"Has {ALLERGY}, phone {PHONE}"})
        job = api.post(
            "/v2/profiles/jobs/",
            {"operation": "trigger", "entity_type": "user", "entity_id": MARIA},
            format="json",
        )
        assert job.status_code == 202, job.content
        assert profiles.run(job.json()["event_id"]).status == "SUCCEEDED"


# The access log's entity keys ("user:maria") stay after an erasure by design: pseudonymous
# references that still answer "who read this subject's memories" (audit.log.redact).
KEPT = {"entities"}


def scan(*markers: str) -> list[str]:
    """Every (table.column) of the database holding one of `markers` anywhere in its text
    (the access log's entity keys aside, see KEPT)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN "
            "('text', 'character varying', 'jsonb', 'json', 'ARRAY')"
        )
        columns = cursor.fetchall()
        found = []
        for table, column in columns:
            if table.startswith("audit_log") and column in KEPT:
                continue
            for marker in markers:
                cursor.execute(
                    f'SELECT count(*) FROM "{table}" WHERE "{column}"::text LIKE %s',
                    [f"%{marker}%"],
                )
                if cursor.fetchone()[0]:
                    found.append(f"{table}.{column}: {marker}")
    return found


def confirm(api, **body):
    response = api.post(
        "/v1/erasures/",
        {"entity_type": "user", "entity_id": MARIA, "dry_run": False, **body},
        format="json",
    )
    assert response.status_code == 202, response.content
    return response.json()


def test_the_scan_finds_the_subject_before_the_erasure(api, project):
    world(api)
    assert len(scan(*MARKERS)) >= 6


def test_preview_counts_every_kind_and_lists_mentions(api, compliance_api, project):
    world(api)
    response = compliance_api.post(
        "/v1/erasures/", {"entity_type": "user", "entity_id": MARIA}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dry_run"] is True
    assert body["holds"] == []
    assert body["counts"] == {
        "memories": 2,  # the phone, the group-chat line
        "trash": 1,  # the kiwi memory, deleted the ordinary way: kept in the trash
        "history": 5,  # those two ADDs; the kiwi memory's ADD, UPDATE and DELETE
        "events": 5,  # three adds, the update and the delete
        "inputs": 2,  # the agent's memory of the ticket, bob's memory of the group chat
        "exports": 0,
        "mentions": 1,
    }
    assert [m["memory"] for m in body["mentions"]] == [f"Bob met {MARIA} at the desk"]
    assert Memory.objects.filter(user_id=MARIA).count() == 2  # a preview changes nothing


def test_erasure_leaves_no_trace_and_keeps_everyone_elses_data(
    api, compliance_api, project, fake_llm
):
    world(api, fake_llm)
    assert any(found.startswith("memories_profile.profile") for found in scan(PHONE))
    # Exported before: the subject's full export, and a Platform export filled by the LLM.
    subject_export = compliance_api.post(
        "/v1/subject-exports/", {"entity_type": "user", "entity_id": MARIA}, format="json"
    ).json()["id"]
    fake_llm.on("fill export schema", reply={"phone": PHONE})
    platform_export = api.post(
        "/v1/exports/",
        {"schema": {"type": "object"}, "filters": {"user_id": MARIA}},
        format="json",
    ).json()["id"]
    for export_id in (subject_export, platform_export):
        exports.run(Export.objects.get(pk=export_id).event_id)
    assert api.post(
        "/v1/exports/get/", {"memory_export_id": platform_export}, format="json"
    ).json() == {"phone": PHONE}
    mention = Memory.objects.get(memory__contains="Bob met").pk
    # A support person's reason for an edit of hers, naming her phone: it goes with the rest.
    hers = Memory.objects.filter(user_id=MARIA).first()
    services.update_memory(
        hers, actor="user:alice", categories=["contact"], reason=f"She called from {PHONE}"
    )
    done = confirm(
        compliance_api, reference="DSR-42", reason="GDPR art. 17", mentions=[str(mention)]
    )
    memory_ids = list(
        MemoryHistory.objects.filter(user_id=MARIA).values_list("memory_id", flat=True)
    )
    finished = erasure.run(done["event_id"])
    assert finished.status == "SUCCEEDED"
    # The last phase's progress stays, in the shape every long operation reports.
    assert finished.progress is not None
    assert finished.progress["done"] == finished.progress["total"]

    assert scan(*MARKERS) == []
    # Everyone else's memories stay, with only her lines taken out of their inputs.
    assert set(Memory.objects.values_list("memory", flat=True)) == {
        "Thanks, noted your phone number.",
        "Bob here, I like chess",
        "Carol likes tea",
    }
    chess = MemoryHistory.objects.get(new_memory="Bob here, I like chess")
    assert chess.input == [
        {"role": "user", "content": "[erased]"},
        {"role": "user", "content": "Bob here, I like chess"},
    ]
    agent = MemoryHistory.objects.get(new_memory="Thanks, noted your phone number.")
    assert agent.input[0] == {"role": "user", "content": "[erased]"}
    assert agent.input[1]["content"] == "Thanks, noted your phone number."
    assert not Entity.objects.filter(name=MARIA).exists()
    assert not Export.objects.exists()  # the zip is bytes the scan cannot read: it is gone
    for export_id in (subject_export, platform_export):
        got = api.post("/v1/exports/get/", {"memory_export_id": export_id}, format="json")
        assert got.status_code == 404
    # Tombstones: kind, time and actor stay, with a salted hash of the old content.
    tombstones = MemoryHistory.objects.filter(memory_id__in=memory_ids)
    assert {t.event for t in tombstones} == {"ADD", "UPDATE", "DELETE"}
    assert all(t.content_hash and t.old_memory is None and t.input is None for t in tombstones)
    # The API answers about her old ids with nothing of hers.
    for memory_id in memory_ids:
        assert api.get(f"/v1/memories/{memory_id}/").status_code == 404
        history = api.get(f"/v1/memories/{memory_id}/history/").content.decode()
        assert not any(marker in history for marker in MARKERS)
    # And so do the dashboard's pages: the memories' (with their history), every Event's.
    auditor = logged_in(make_user("auditor", project, Role.ADMIN))
    pages = [f"/memories/{memory_id}/" for memory_id in memory_ids]
    pages += [f"/activity/{pk}/" for pk in Event.objects.values_list("pk", flat=True)]
    pages += ["/activity/", "/", "/entities/"]
    for url in pages:
        page = auditor.get(url)
        assert page.status_code in (200, 404), url
        assert not any(marker in page.content.decode() for marker in MARKERS), url
    # Activity filtered by her id echoes the id typed, and finds nothing.
    assert auditor.get(f"/activity/?entity={MARIA}").context["page"].rows == []
    activity = api.get(f"/v1/events/?entity={MARIA}").json()
    assert activity["count"] == 0
    events = api.get("/v1/events/?page_size=100").content.decode()
    assert not any(marker in events for marker in MARKERS)


def test_the_receipt_names_no_one_and_verifies(api, compliance_api, project, tmp_path):
    world(api)
    done = confirm(compliance_api, reference="DSR-42", reason="request by email")
    erasure.run(done["event_id"])
    record = compliance_api.get(f"/v1/erasures/{done['id']}/").json()
    assert record["status"] == "SUCCEEDED"
    receipt = record["receipt"]
    text = json.dumps(receipt)
    assert not any(marker in text for marker in MARKERS)
    assert receipt["subject"] == {"type": "user", "hash": Erasure.objects.get().subject_hash}
    assert receipt["counts"]["memories"] == 2 and receipt["counts"]["history"] == 5
    assert (receipt["reference"], receipt["reason"]) == ("DSR-42", "request by email")
    assert receipt["digest"]["memories"] == 3  # the kiwi memory was already deleted
    assert api.post("/v1/receipts/verify/", receipt, format="json").json()["valid"] is True
    # The command line, with this deployment's key and with the public key alone.
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt))
    call_command("verify_receipt", str(path))
    key = tmp_path / "public.pem"
    key.write_text(api.get("/v1/receipts/public-key/").json()["public_key_pem"])
    call_command("verify_receipt", str(path), "--public-key", str(key))


def test_a_changed_receipt_or_another_keys_fails_with_the_reason(
    api, compliance_api, settings, tmp_path
):
    world(api)
    done = confirm(compliance_api)
    erasure.run(done["event_id"])
    receipt = Erasure.objects.get().receipt
    tampered = {**receipt, "counts": {**receipt["counts"], "memories": 1}}
    answer = api.post("/v1/receipts/verify/", tampered, format="json").json()
    assert answer == {
        "valid": False,
        "reason": "the signature does not match the receipt's content: it was changed after signing",
    }
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(tampered))
    with pytest.raises(Exception, match="changed after signing"):
        call_command("verify_receipt", str(path))
    other = tmp_path / "other-key.pem"
    receipts.generate_key_file(other)
    settings.MEMDASH_RECEIPT_KEY_FILE = str(other)
    answer = api.post("/v1/receipts/verify/", receipt, format="json").json()
    assert answer["valid"] is False
    assert "not by this deployment's key" in answer["reason"]


def test_writes_for_the_subject_are_refused_until_the_erasure_is_done(api, compliance_api, project):
    world(api)
    done = confirm(compliance_api)
    refused = api.post(
        "/v3/memories/add/", {"messages": "new", "user_id": MARIA, "infer": False}, format="json"
    )
    assert refused.status_code == 409
    assert "erasure of user" in refused.json()["detail"]
    group = api.post(
        "/v3/memories/add/",
        {
            "messages": [{"role": "user", "name": "Maria-7c1d", "content": "hi"}],
            "user_id": "x",
            "infer": False,
        },
        format="json",
    )
    assert group.status_code == 409
    assert add_verbatim(api, "Carol likes coffee", user_id="carol")  # others are unaffected
    erasure.run(done["event_id"])
    assert add_verbatim(api, "a new conversation", user_id=MARIA)


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_writer_never_slips_a_write_through(project, settings):
    """Writers for the subject run all along: whatever they stored before the confirmation is
    erased, and nothing of theirs is accepted between the confirmation and the end."""
    api = api_client(create_api_key(project))
    officer = api_client(create_api_key(project, role=Role.COMPLIANCE))
    settings.MEMDASH_ERASURE_CHUNK = 3
    for i in range(10):
        add_verbatim(api, f"{SECRET} early {i}", user_id=MARIA)
    stop = threading.Event()
    # (status, when the answer arrived, the memory ids it stored)
    answers: list[tuple[int, dt.datetime, list[str]]] = []

    def write() -> None:
        client = api_client(create_api_key(project))
        n = 0
        while not stop.is_set():
            n += 1
            response = client.post(
                "/v3/memories/add/",
                {"messages": f"{SECRET} racing {n}", "user_id": MARIA, "infer": False},
                format="json",
            )
            stored = [r["id"] for r in response.json().get("results", [])]
            answers.append((response.status_code, dt.datetime.now(dt.UTC), stored))
        connection.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        done = confirm(officer)
        event = erasure.run(done["event_id"])
    finally:
        stop.set()
        writer.join()
    record = Erasure.objects.get()
    assert event.status == "SUCCEEDED"
    assert {code for code, _, _ in answers} <= {200, 409}
    assert any(code == 409 for code, _, _ in answers)
    # Nothing was accepted between the confirmation and the end: every accepted write was made
    # (by the server's clock, which tombstones keep) before the one or after the other ...
    accepted = [i for code, _, ids in answers if code == 200 for i in ids]
    made = dict(
        MemoryHistory.objects.filter(memory_id__in=accepted, event="ADD").values_list(
            "memory_id", "created_at"
        )
    )
    assert len(made) == len(accepted)
    during = [at for at in made.values() if record.created_at <= at <= record.completed_at]
    assert during == []
    # ... and everything accepted before it is gone: what is left was written after the end.
    before = {str(i) for i, at in made.items() if at < record.created_at}
    left = {str(pk) for pk in Memory.objects.filter(user_id=MARIA).values_list("pk", flat=True)}
    assert not before & left
    assert Memory.objects.filter(memory__contains="early").count() == 0


def test_bad_subjects_and_missing_permissions(api, compliance_api, editor_api, other_api, project):
    world(api)
    unknown = compliance_api.post(
        "/v1/erasures/", {"entity_type": "user", "entity_id": "nobody"}, format="json"
    )
    assert unknown.status_code == 404
    nothing = compliance_api.post(
        "/v1/erasures/", {"filters": {"run_id": "no-such-run"}}, format="json"
    ).json()
    assert nothing["counts"] == {
        "memories": 0,
        "trash": 0,
        "history": 0,
        "events": 0,
        "inputs": 0,
        "exports": 0,
        "mentions": 0,
    }
    assert (
        editor_api.post(
            "/v1/erasures/", {"entity_type": "user", "entity_id": MARIA}, format="json"
        ).status_code
        == 403
    )
    assert (
        other_api.post(
            "/v1/erasures/", {"entity_type": "user", "entity_id": MARIA}, format="json"
        ).status_code
        == 404
    )
    bad = compliance_api.post(
        "/v1/erasures/", {"entity_type": "robot", "entity_id": "r"}, format="json"
    )
    assert bad.status_code == 400
    confirm(compliance_api)
    again = compliance_api.post(
        "/v1/erasures/",
        {"entity_type": "user", "entity_id": MARIA, "dry_run": False},
        format="json",
    )
    assert again.status_code == 409


def test_a_filter_subject_erases_what_it_matches(api, compliance_api, project):
    world(api)
    response = compliance_api.post(
        "/v1/erasures/", {"filters": {"run_id": "ticket-1"}, "dry_run": False}, format="json"
    )
    assert response.status_code == 202, response.content
    erasure.run(response.json()["event_id"])
    assert not Memory.objects.filter(run_id="ticket-1").exists()
    assert scan(PHONE) == []
    assert Memory.objects.filter(memory="Carol likes tea").exists()


def test_queued_webhook_deliveries_of_erased_memories_are_dropped(api, compliance_api, project):
    from memories import tasks

    world(api)
    memory = Memory.objects.filter(user_id=MARIA).first()
    body = {
        "event_details": {"id": str(memory.pk), "data": {"memory": memory.memory}, "event": "ADD"}
    }
    hook = project.webhooks.create(name="h", url="http://192.0.2.1/", event_types=["memory_add"])
    erasure.run(confirm(compliance_api)["event_id"])
    assert erasure.erased_memory(memory.pk)
    # The delivery returns before reaching out to the receiver (which does not exist).
    assert tasks.deliver_webhook.apply(args=[str(hook.pk), body]).successful()


def test_without_a_receipt_key_no_erasure_begins(api, compliance_api, settings):
    world(api)
    settings.MEMDASH_RECEIPT_KEY = ""
    settings.MEMDASH_RECEIPT_KEY_FILE = ""
    response = compliance_api.post(
        "/v1/erasures/",
        {"entity_type": "user", "entity_id": MARIA, "dry_run": False},
        format="json",
    )
    assert response.status_code == 501
    assert "MEMDASH_RECEIPT_KEY" in response.json()["detail"]
    assert not Erasure.objects.exists()
    assert Memory.objects.filter(user_id=MARIA).exists()


def test_her_lines_in_an_agents_inferred_memory_are_erased_by_whose_they_are(
    api, compliance_api, fake_llm
):
    # Nothing of hers became a memory: only ownership tells her line from the agent's.
    fake_llm.on("extract facts", reply={"facts": [{"text": "Offers a callback", "message": 2}]})
    response = api.post(
        "/v1/memories/",
        {
            "messages": [
                {"role": "user", "content": f"I live at {SECRET}"},
                {"role": "assistant", "content": "I can call you back later."},
            ],
            "user_id": MARIA,
            "agent_id": "support",
            "async_mode": False,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    agent = MemoryHistory.objects.get(new_memory="Offers a callback")
    assert agent.agent_id == "support" and SECRET in json.dumps(agent.input)
    add_verbatim(api, "Hello", user_id=MARIA)  # so that she has a memory to erase
    done = confirm(compliance_api)
    erasure.run(done["event_id"])
    agent.refresh_from_db()
    assert agent.input == [
        {"role": "user", "content": "[erased]"},
        {"role": "assistant", "content": "I can call you back later."},
    ]
    assert scan(SECRET) == []
