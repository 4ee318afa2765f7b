"""Mail work after the response (issue 14.10): a request hands a job to one background thread
per process, so an answer takes the same time whether or not it sends mail (the password-reset
form and the registration form must not tell who has an account).

A job runs in an app context with the request's locale; it gets no request, so links must be
built in the request (:func:`app.auth.external_url`) and passed in. ``MAIL_DEFERRED = False``
runs jobs inline. :func:`drain` waits until every queued job ran (tests, shutdown). Jobs still
queued when a worker process is killed are lost: the person asks again.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from flask import current_app
from flask_babel import force_locale, get_locale

log = logging.getLogger(__name__)

_jobs: queue.Queue = queue.Queue()
_lock = threading.Lock()
_worker: threading.Thread | None = None


def _run() -> None:
    while True:
        app, locale, fn, args, kwargs = _jobs.get()
        try:
            with app.app_context(), force_locale(locale):
                fn(*args, **kwargs)
        except Exception:  # a job must not kill the thread
            log.exception("deferred mail job %s failed", getattr(fn, "__name__", fn))
        finally:
            _jobs.task_done()


def _ensure_worker() -> None:
    global _worker
    with _lock:  # a gunicorn worker starts its own thread on first use, after the fork
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_run, name="civicmap-mail", daemon=True)
            _worker.start()


def defer(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run ``fn(*args, **kwargs)`` after this request, in this app and this locale."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    locale = str(get_locale() or "pl")
    if not app.config.get("MAIL_DEFERRED", True):
        with force_locale(locale):
            fn(*args, **kwargs)
        return
    _ensure_worker()
    _jobs.put((app, locale, fn, args, kwargs))


def drain() -> None:
    """Wait until every job queued so far has run."""
    _jobs.join()
