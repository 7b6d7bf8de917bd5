"""Dashboard routes for memories and activity (the API's routes live in memories/api/urls.py)."""

from django.urls import path

from memories import (
    column_views,
    compliance_views,
    hold_views,
    past_views,
    retention_views,
    trash_views,
    views,
    webhook_views,
)

app_name = "memories"

urlpatterns = [
    path("", views.memory_list, name="list"),
    path("memories/bulk-delete/", views.bulk_delete, name="bulk_delete"),
    path("memories/columns/", column_views.memory_columns, name="columns"),
    path("memories/as-of/", past_views.memories_as_of, name="as_of"),
    path("memories/<uuid:pk>/", views.memory_detail, name="detail"),
    path("memories/<uuid:pk>/edit/", views.memory_edit, name="edit"),
    path("memories/<uuid:pk>/delete/", views.memory_delete, name="delete"),
    path(
        "memories/<uuid:pk>/history/<uuid:version>/restore/",
        views.memory_restore_version,
        name="restore_version",
    ),
    path("compliance/", compliance_views.compliance_home, name="compliance"),
    path("compliance/person/", compliance_views.person_page, name="person"),
    path("compliance/holds/", hold_views.hold_list, name="holds"),
    path("compliance/holds/<uuid:pk>/release/", hold_views.hold_release, name="hold_release"),
    path("compliance/retention/", retention_views.policy_list, name="retention"),
    path(
        "compliance/retention/<uuid:pk>/preview/",
        retention_views.policy_preview,
        name="retention_preview",
    ),
    path(
        "compliance/retention/<uuid:pk>/",
        retention_views.policy_change,
        name="retention_change",
    ),
    path("trash/", trash_views.trash_list, name="trash"),
    path("trash/restore/", trash_views.trash_restore, name="trash_restore"),
    path("trash/purge/", trash_views.trash_purge, name="trash_purge"),
    path("exports/", compliance_views.export_list, name="exports"),
    path("exports/new/", compliance_views.export_new, name="export_new"),
    path("exports/<uuid:pk>/", compliance_views.export_detail, name="export"),
    path("exports/<uuid:pk>/download/", compliance_views.export_download, name="export_download"),
    path("erasures/", compliance_views.erasure_list, name="erasures"),
    path("erasures/new/", compliance_views.erasure_new, name="erasure_new"),
    path("erasures/<uuid:pk>/", compliance_views.erasure_detail, name="erasure"),
    path(
        "erasures/<uuid:pk>/receipt.json", compliance_views.erasure_receipt, name="erasure_receipt"
    ),
    path("webhooks/", webhook_views.webhook_list, name="webhooks"),
    path("webhooks/<uuid:pk>/", webhook_views.webhook_detail, name="webhook"),
    path("webhooks/<uuid:pk>/switch/", webhook_views.webhook_switch, name="webhook_switch"),
    path("webhooks/<uuid:pk>/test/", webhook_views.webhook_test, name="webhook_test"),
    path("webhooks/<uuid:pk>/delete/", webhook_views.webhook_delete, name="webhook_delete"),
    path("activity/", views.event_list, name="activity"),
    path("activity/<uuid:pk>/", views.event_detail, name="event"),
]
