"""Shared test doubles and helpers: the scripted LLM server and real Celery worker processes.

Imported by tests/ and bench/, never by the product apps (memdash, core, tenancy, entities,
memories): the product must run without them.
"""
