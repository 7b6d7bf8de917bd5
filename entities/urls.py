"""Dashboard routes for entities (the API's are in entities/api/urls.py).

Entity names may contain "/", so they come last in each path.
"""

from django.urls import path

from entities import views

app_name = "entities"

urlpatterns = [
    path("entities/", views.entity_list, name="list"),
    path("entities/delete/<str:kind>/<path:name>/", views.entity_delete, name="delete"),
    path("entities/<str:kind>/<path:name>/", views.entity_detail, name="detail"),
]
