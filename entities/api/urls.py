from django.urls import path

from entities.api import views

app_name = "entities-api"

urlpatterns = [
    path("v1/entities/", views.EntityListView.as_view(), name="list"),
    path("v1/entities/<str:kind>/<str:entity_id>/", views.EntityByIdView.as_view(), name="by-id"),
    # Names may contain "/" (the SDKs percent-encode it, the server decodes it).
    path("v2/entities/<str:kind>/<path:name>/", views.EntityByNameView.as_view(), name="by-name"),
]
