"""The HTTP client of the `openai` backend: a whole request bounded in time, a reply bounded in
size, no redirect followed. Outside text is hostile: an endpoint that trickles, never ends, or
sends gigabytes is cut off and named."""

from __future__ import annotations

import time

import httpx

MAX_REPLY_BYTES = 8 * 1024 * 1024  # a reply body larger than this is cut off and reported


def bounded_client(timeout: float):
    """An HTTP client whose `timeout` bounds a whole request, not each read (httpx's own timeout is
    per read, so a reply that trickles in or a body that never ends would run on), whose replies are
    bounded in size, and which follows no redirect (a prompt must not travel to another origin)."""

    class Bounded(httpx.SyncByteStream):
        def __init__(self, inner, request, deadline: float):
            self.inner, self.request, self.deadline = inner, request, deadline

        def __iter__(self):
            size = 0
            for chunk in self.inner:
                size += len(chunk)
                if time.monotonic() > self.deadline:
                    raise WholeRequestTimeout(f"the reply took longer than {timeout:g} s", request=self.request)
                if size > MAX_REPLY_BYTES:
                    raise ReplyTooLarge(f"the reply is larger than {MAX_REPLY_BYTES // 2**20} MB", request=self.request)
                yield chunk

        def close(self):
            self.inner.close()

    class Transport(httpx.HTTPTransport):
        def handle_request(self, request):
            deadline = time.monotonic() + timeout
            response = super().handle_request(request)
            response.stream = Bounded(response.stream, request, deadline)
            return response

    return httpx.Client(transport=Transport(), timeout=timeout, follow_redirects=False)


def raised(exc: BaseException, kind: type) -> bool:
    while exc is not None:
        if isinstance(exc, kind):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class WholeRequestTimeout(httpx.ReadTimeout):
    """A reply that did not end within --timeout, however steadily it trickled."""


class ReplyTooLarge(httpx.ReadError):
    """A reply body beyond MAX_REPLY_BYTES."""
