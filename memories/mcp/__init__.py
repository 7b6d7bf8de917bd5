"""The Model Context Protocol endpoint at /mcp/: a project's memories as tools for LLM clients.

- memories.mcp.tools: the tools (add, search, list, get, update, delete, delete all), each a
  thin adapter over the services the REST API calls;
- memories.mcp.http: the Django view that authenticates the API key and serves one MCP
  exchange per request with the official `mcp` SDK (stateless, JSON responses);
- memories.mcp.urls: its route, included by memdash.urls.
"""
