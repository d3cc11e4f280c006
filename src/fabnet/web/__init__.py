"""The fabnet dashboard: the runs store in a browser (FastAPI, server-rendered pages).

``create_app(store_path, token=None)`` makes the app; ``fabnet dashboard`` serves it.
Reads go through short read-only store connections; runs start through the CLI's own
functions in worker processes (:mod:`fabnet.web.jobs`). No model logic lives here.
"""

from __future__ import annotations

from fabnet.web.app import create_app

__all__ = ["create_app"]
