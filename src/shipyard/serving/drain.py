"""The HTTP protocol ``shipyard serve`` runs uvicorn with: on SIGTERM, kept-alive connections
are drained, not cut while a client may be sending on them.

uvicorn's own drain closes every connection that is between two requests the moment SIGTERM
arrives. A client of a kept-alive connection may be writing its next request at that very
moment: it then reads a closed connection instead of an answer, and cannot tell whether the
request was taken (a probe saw 8 such failures in 1 of 3 trials). Here, once the drain starts:

* every answer carries ``Connection: close``, that of a request in progress and that of any
  request arriving on a kept-alive connection, so each client is told to go elsewhere with
  an answer in hand, and the connection closes after it;
* a connection between two requests is closed only once it has stayed silent for
  :data:`QUIET_S`: one whose client is sending its next request gets that request answered
  (with ``Connection: close``) instead.

The listener itself closes at once, as before: a new connection is refused, which a client
may retry elsewhere in safety.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["QUIET_S", "DrainingHttp"]

QUIET_S = 1.0
"""How long a kept-alive connection must stay silent after SIGTERM before it is closed: far
longer than a client takes between reading one answer and sending its next request."""


class DrainingHttp(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol (httptools), with the drain above."""

    _draining = False
    _heard = False

    def shutdown(self) -> None:
        """Called by the server for each connection when it starts to shut down."""
        self._draining, self._heard = True, False
        if self.cycle is None or self.cycle.response_complete:
            self.loop.call_later(QUIET_S, self._close_if_quiet)
        else:
            self.cycle.keep_alive = False

    def data_received(self, data: bytes) -> None:
        self._heard = True
        super().data_received(data)
        if self._draining and self.cycle is not None:
            self.cycle.keep_alive = False  # read when the answer starts: Connection: close

    def _close_if_quiet(self) -> None:
        """Close the connection if nothing came on it since the drain began (a request that
        did come is answered, and the connection closed after its answer)."""
        if not self._heard and not self.transport.is_closing():
            self.transport.close()
