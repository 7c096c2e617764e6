"""gunicorn settings for production (`gunicorn wsgi:app`), all from the environment."""

import gc
import multiprocessing
import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104  (inside a container)
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
threads = int(os.environ.get("GUNICORN_THREADS") or 1)
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
# Workers are recycled now and then so slow leaks never grow past the memory budget; rarely, since
# a new worker starts cold (at 2,000 one was replaced every few seconds under load: p95 x20).
max_requests = 20000
max_requests_jitter = 2000
# The app is imported once in the master and forked: workers start warm and share its memory.
preload_app = True
accesslog = "-"
errorlog = "-"
# The TLS proxy in front sets X-Forwarded-*; the app trusts them only with TRUSTED_PROXIES set.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def pre_fork(server, worker):
    """What the master made while loading the app lives as long as the workers: frozen out of the
    garbage collector, it is no longer walked by each worker's full collections (one took 120 ms with
    the app's ~220,000 objects, a latency spike every few hundred requests), and the memory pages
    that hold it stay shared instead of being copied into each worker."""
    gc.freeze()


def post_fork(server, worker):
    """A forked worker must not reuse the master's database connections (made by the start-up
    checks): drop them from its pool without closing them for the master."""
    from crm.extensions import db
    from wsgi import app

    with app.app_context():
        db.engine.dispose(close=False)
