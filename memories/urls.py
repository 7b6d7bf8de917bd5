"""Dashboard routes for memories and activity (the API's routes live in memories/api/urls.py)."""

from django.urls import path

from memories import erasure_views, views

app_name = "memories"

urlpatterns = [
    path("", views.memory_list, name="list"),
    path("memories/bulk-delete/", views.bulk_delete, name="bulk_delete"),
    path("memories/<uuid:pk>/", views.memory_detail, name="detail"),
    path("memories/<uuid:pk>/edit/", views.memory_edit, name="edit"),
    path("memories/<uuid:pk>/delete/", views.memory_delete, name="delete"),
    path("erasures/", erasure_views.erasure_list, name="erasures"),
    path("erasures/new/", erasure_views.erasure_new, name="erasure_new"),
    path("erasures/<uuid:pk>/", erasure_views.erasure_detail, name="erasure"),
    path("erasures/<uuid:pk>/receipt.json", erasure_views.erasure_receipt, name="erasure_receipt"),
    path("activity/", views.event_list, name="activity"),
    path("activity/<uuid:pk>/", views.event_detail, name="event"),
]
