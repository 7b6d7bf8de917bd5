"""Project webhooks: HMAC-signed POSTs to subscriber URLs when memories change.

- notify: the change payloads (Mem0's shapes) and queueing them once the change commits;
- subscriptions: creating, changing and deleting webhooks (every surface goes through these);
- targets: which URLs may receive deliveries (no loopback, private or link-local addresses);
- delivery: signing and POSTing one delivery (the Celery task memories.tasks.deliver_webhook).
"""
