from django.urls import path

from tenancy.api import views

app_name = "tenancy-api"

urlpatterns = [
    path("v1/ping/", views.PingView.as_view(), name="ping"),
]
