"""The MCP endpoint's route. With or without the trailing slash: MCP clients are configured
with a URL a person typed, and APPEND_SLASH cannot redirect a POST."""

from django.urls import re_path

from memories.mcp import http

urlpatterns = [re_path(r"^mcp/?$", http.endpoint, name="mcp")]
