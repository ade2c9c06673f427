"""A local HTTP server run in a daemon thread (the HTTP API adapter and the AWS endpoint)."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer


class ServingThread:
    """Owns one ``ThreadingHTTPServer`` and the thread that serves it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str | None:
        if self.server is None:
            return None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve(self, server: ThreadingHTTPServer) -> str:
        """Serve ``server`` until :meth:`stop`; returns its URL."""
        server.daemon_threads = True
        self.server = server
        self._thread = threading.Thread(target=server.serve_forever, name=self.name, daemon=True)
        self._thread.start()
        return self.url or ""

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
