"""Deadlines and draining for the REST server's connections (one thread each).

A connection waiting for a request has a deadline, `timeout` seconds from when it became ready
for one; a watchdog thread cuts off (shuts the read side of) connections past it, so a client
that stalls or trickles cannot hold a thread forever, and the handler answers with the reason.
The clock stops once the whole request has arrived: answering may take as long as it needs. On
drain, connections on which no request has begun to arrive are cut off and every request begun
is waited for. `listen_refusal` is the one-line error for a port that cannot be listened on.
"""

from __future__ import annotations

import socket
import threading
import time
from http import HTTPStatus


class RequestTracker:
    """Which connections wait for a request (each with its deadline) and how many requests are
    being answered; a watchdog thread cuts off connections past their deadline."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.draining = False
        self._waiting = {}  # handler -> monotonic deadline
        self._starting = 0  # connections accepted whose handler has not registered yet
        self._answering = 0
        self._changed = threading.Condition()
        self._closed = False
        self._watchdog = threading.Thread(target=self._watch, daemon=True,
                                          name="keras_dl-rest-timeouts")
        self._watchdog.start()

    def accepted(self):
        """A connection was accepted; its handler thread has not registered yet."""
        with self._changed:
            self._starting += 1

    def wait_for_request(self, handler) -> bool:
        """Start `handler`'s clock for its next request; False (hang up) when draining and no
        request has begun to arrive on the connection."""
        with self._changed:
            self._registered(handler)
            if self.draining and not bytes_pending(handler.connection):
                return False
            handler.reading = False
            self._waiting[handler] = time.monotonic() + self.timeout
            return True

    def _registered(self, handler):
        if not handler.registered:
            handler.registered = True
            self._starting -= 1
            self._changed.notify_all()

    def answering(self, handler) -> bool:
        """`handler` has read its whole request; False if it was cut off meanwhile."""
        with self._changed:
            if self._waiting.pop(handler, None) is None:
                return False
            self._answering += 1
            handler.counted = True
            self._changed.notify_all()
            return True

    def finished(self, handler):
        """`handler`'s request is answered (or abandoned), or its connection ends."""
        with self._changed:
            self._registered(handler)
            self._waiting.pop(handler, None)
            if handler.counted:
                handler.counted = False
                self._answering -= 1
            self._changed.notify_all()

    def drain(self, grace: float) -> bool:
        """Stop taking requests: hang up connections on which no request has begun to arrive,
        let the others finish sending theirs (within their deadline), and wait up to `grace`
        s for every request begun to be answered; True when all were."""
        with self._changed:
            self.draining = True
            for handler in [h for h in self._waiting
                            if not h.reading and not bytes_pending(h.connection)]:
                self._cut_off(handler, HTTPStatus.SERVICE_UNAVAILABLE, "server is stopping")
            return self._changed.wait_for(
                lambda: not (self._answering or self._waiting or self._starting),
                timeout=grace)

    def close(self):
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def _cut_off(self, handler, status, message):
        del self._waiting[handler]
        handler.cut_off = (status, message)
        try:  # a blocked read returns at once (end of stream); the write side stays open
            handler.connection.shutdown(socket.SHUT_RD)
        except OSError:
            pass
        self._changed.notify_all()

    def _watch(self):
        period = min(0.25, self.timeout / 10)  # a client is cut off at most this late
        next_scan = 0.0
        with self._changed:
            while not self._closed:
                now = time.monotonic()
                if now >= next_scan:  # not on every notification: once a period
                    next_scan = now + period
                    for handler, deadline in list(self._waiting.items()):
                        if deadline <= now:
                            self._cut_off(handler, HTTPStatus.REQUEST_TIMEOUT,
                                          f"request not received in full within "
                                          f"{self.timeout:g} s (request_timeout)")
                self._changed.wait(max(0.0, next_scan - now))


def bytes_pending(connection) -> bool:
    """True if the client has sent bytes the server has not read yet."""
    try:
        return bool(connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except OSError:  # nothing to read (BlockingIOError), or the connection is gone
        return False


def listen_refusal(api: str, host: str, port: int, error: OSError) -> OSError:
    """The `OSError` for a port `api` ("REST" or "gRPC") cannot listen on: one line naming
    `host:port`, the system's reason and the option to change, with the original errno."""
    option = "--rest-port" if api == "REST" else "--grpc-port"
    refusal = OSError(f"cannot listen for {api} on {host}:{port}: {error.strerror or error}; "
                      f"choose another {option} (0 picks a free one)")
    refusal.errno = error.errno
    return refusal
