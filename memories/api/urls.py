"""Memory API routes, at Mem0's paths. Specific paths come before `<memory_id>` ones."""

from django.urls import path, re_path

from memories.api import (
    entity_memories,
    erasures,
    exports,
    holds,
    profiles,
    project,
    retention,
    stats,
    summary,
    trash,
    views,
    webhooks,
)

app_name = "memories-api"

urlpatterns = [
    path("v1/memories/", views.MemoriesV1View.as_view(), name="v1-memories"),
    path("v1/memories/search/", views.SearchV1View.as_view(), name="v1-search"),
    path("v1/memories/batch/", views.BatchView.as_view(), name="v1-memories-batch"),
    path("v1/memories/events/", entity_memories.HistoryEventsView.as_view(), name="history-events"),
    # An entity's memories; its id may contain "/" (the SDKs percent-encode it). Only the four
    # kinds match here, so /v1/memories/{uuid}/history/ still reaches the history route.
    re_path(
        r"^v1/memories/(?P<kind>user|agent|app|run)/(?P<name>.+)/$",
        entity_memories.EntityMemoriesView.as_view(),
        name="entity-memories",
    ),
    path("v1/memories/<str:memory_id>/", views.MemoryDetailView.as_view(), name="memory-detail"),
    path(
        "v1/memories/<str:memory_id>/history/",
        views.MemoryHistoryView.as_view(),
        name="memory-history",
    ),
    path("v1/batch/", views.BatchView.as_view(), name="batch"),
    path("v1/feedback/", views.FeedbackView.as_view(), name="feedback"),
    path("v1/event/<str:event_id>/", views.EventDetailView.as_view(), name="event-detail"),
    path("v1/events/", views.EventListView.as_view(), name="event-list"),
    path("v1/stats/", stats.StatsView.as_view(), name="stats"),
    path("v1/erasures/", erasures.ErasuresView.as_view(), name="erasures"),
    path("v1/trash/", trash.TrashView.as_view(), name="trash"),
    path("v1/trash/list/", trash.TrashListView.as_view(), name="trash-list"),
    path("v1/trash/restore/", trash.TrashRestoreView.as_view(), name="trash-restore"),
    path("v1/trash/purge/", trash.TrashPurgeView.as_view(), name="trash-purge"),
    path("v1/retention-policies/", retention.PoliciesView.as_view(), name="retention-policies"),
    path(
        "v1/retention-policies/<str:policy_id>/",
        retention.PolicyDetailView.as_view(),
        name="retention-policy",
    ),
    path(
        "v1/retention-policies/<str:policy_id>/preview/",
        retention.PolicyPreviewView.as_view(),
        name="retention-preview",
    ),
    path("v1/holds/", holds.HoldsView.as_view(), name="holds"),
    path("v1/holds/<str:hold_id>/", holds.HoldDetailView.as_view(), name="hold-detail"),
    path("v1/holds/<str:hold_id>/release/", holds.HoldReleaseView.as_view(), name="hold-release"),
    path(
        "v1/erasures/<str:erasure_id>/", erasures.ErasureDetailView.as_view(), name="erasure-detail"
    ),
    path("v1/exports/", exports.PlatformExportsView.as_view(), name="exports"),
    path("v1/exports/get/", exports.PlatformExportGetView.as_view(), name="export-get"),
    path("v1/subject-exports/", exports.SubjectExportsView.as_view(), name="subject-exports"),
    path(
        "v1/subject-exports/<str:export_id>/",
        exports.SubjectExportDetailView.as_view(),
        name="subject-export",
    ),
    path(
        "v1/subject-exports/<str:export_id>/download/",
        exports.SubjectExportDownloadView.as_view(),
        name="subject-export-download",
    ),
    path("v1/summary/", summary.SummaryView.as_view(), name="summary"),
    path("v1/receipts/public-key/", erasures.PublicKeyView.as_view(), name="receipt-key"),
    path("v1/receipts/verify/", erasures.VerifyReceiptView.as_view(), name="receipt-verify"),
    path("v2/memories/", views.ListV2View.as_view(), name="v2-list"),
    path("v2/profiles/settings/", profiles.ProfileSettingsView.as_view(), name="profile-settings"),
    path("v2/profiles/jobs/", profiles.ProfileJobsView.as_view(), name="profile-jobs"),
    path(
        "v2/profiles/jobs/<str:job_id>/",
        profiles.ProfileJobDetailView.as_view(),
        name="profile-job",
    ),
    # Before entities-api's v2/entities/<kind>/<path:name>/ (memdash.urls includes this first).
    path(
        "v2/entities/user/<path:entity_id>/profile/",
        profiles.EntityProfileView.as_view(),
        name="entity-profile",
    ),
    path("v2/memories/search/", views.SearchV2View.as_view(), name="v2-search"),
    path("v3/memories/", views.ListV3View.as_view(), name="v3-list"),
    path("v3/memories/add/", views.AddV3View.as_view(), name="v3-add"),
    path("v3/memories/search/", views.SearchV3View.as_view(), name="v3-search"),
    path(
        "api/v1/orgs/organizations/<str:org_id>/",
        project.OrganizationDetailView.as_view(),
        name="organization-detail",
    ),
    path(
        "api/v1/orgs/organizations/<str:org_id>/projects/<str:project_id>/",
        project.ProjectDetailView.as_view(),
        name="project-detail",
    ),
    path(
        "api/v1/webhooks/projects/<str:project_id>/",
        webhooks.ProjectWebhooksView.as_view(),
        name="project-webhooks",
    ),
    path(
        "api/v1/webhooks/<str:webhook_id>/",
        webhooks.WebhookDetailView.as_view(),
        name="webhook-detail",
    ),
    # Last: any other /v1/memories/{type}/{id}/ is an entity path with a bad type (a 400
    # that names the types), not an unknown URL.
    path(
        "v1/memories/<str:kind>/<str:name>/",
        entity_memories.EntityMemoriesView.as_view(),
        name="entity-memories-bad-type",
    ),
]
