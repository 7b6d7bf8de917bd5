"""Dashboard routes for memories and activity (the API's routes live in memories/api/urls.py)."""

from django.urls import path

from memories import compliance_views, views

app_name = "memories"

urlpatterns = [
    path("", views.memory_list, name="list"),
    path("memories/bulk-delete/", views.bulk_delete, name="bulk_delete"),
    path("memories/<uuid:pk>/", views.memory_detail, name="detail"),
    path("memories/<uuid:pk>/edit/", views.memory_edit, name="edit"),
    path("memories/<uuid:pk>/delete/", views.memory_delete, name="delete"),
    path("compliance/", compliance_views.compliance_home, name="compliance"),
    path("compliance/person/", compliance_views.person_page, name="person"),
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
    path("activity/", views.event_list, name="activity"),
    path("activity/<uuid:pk>/", views.event_detail, name="event"),
]
