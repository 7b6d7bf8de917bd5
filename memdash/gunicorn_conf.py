"""gunicorn's settings for memdash: `gunicorn memdash.wsgi -c python:memdash.gunicorn_conf`.

scripts/run.sh (`make run`) and testkit.web.WebServer both serve memdash this way, so the tests
run the server as it is deployed. Flags given on the command line override these (the tests
bind port 0 and choose their own worker counts).
"""

import os

# Processes and threads per process, from the environment as before (gunicorn reads
# WEB_CONCURRENCY itself only when nothing sets `workers`).
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
# One thread for the local embedder in each web process unless MEMDASH_EMBEDDER_THREADS says
# otherwise: gunicorn's threads already keep every core busy with requests, and onnxruntime's
# second thread then only adds its wake-up and hand-off to each embedding. Measured in-process
# (CPU time, which is what a loaded server runs out of): 7.5 ms per search query's embedding
# with two threads, 6.1 ms with one. Set before the workers fork and load the settings.
os.environ.setdefault("MEMDASH_EMBEDDER_THREADS", "1")
# gthread's worker, answering the errors gunicorn raises before Django sees a request (an
# over-long URL, too many or too large headers, a malformed request line) in the API's JSON.
worker_class = "memdash.gunicorn_worker.JsonErrorWorker"
# Generous: a loaded machine must not have the arbiter kill a slow worker.
timeout = 120
# Keep-alive outlasts the clients' idle-socket reuse (undici keeps sockets 4 s, httpx 5 s): with
# gunicorn's default 2 s, a client may send on a socket the server has just closed.
keepalive = 75
