from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("", include("memdash.api.urls")),
    path("", include("memories.api.urls")),
    path("", include("entities.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("admin/", admin.site.urls),
]

handler404 = "memdash.errors.not_found"
handler500 = "memdash.errors.server_error"
