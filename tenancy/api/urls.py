from django.urls import path

from tenancy.api import audit, views

app_name = "tenancy-api"

urlpatterns = [
    path("v1/ping/", views.PingView.as_view(), name="ping"),
    path("v1/audit/", audit.AuditLogView.as_view(), name="audit"),
]
