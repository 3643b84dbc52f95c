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


class LeanCompletions:
    """An endpoint's `create`, as langchain-openai (`client.with_raw_response.create`) and `_completion`
    call it, without the SDK's work that changes nothing here, about half of a call's CPU: its
    transform of the request's params (the body is plain JSON already) and its typed model of the
    reply (langchain-openai reads a dict as it reads that model). The SDK still sends the request,
    so its retries, status errors and the bounded HTTP client are the same. A streamed request goes
    through the SDK whole: its chunks are read as they come."""

    def __init__(self, client, path: str, streamed=None):
        self._client, self._path, self._streamed = client, path, streamed
        self.with_raw_response = self

    def create(self, *, extra_body=None, extra_headers=None, extra_query=None, stream=False, **params):
        if stream:
            return self._streamed.create(**params, stream=True, extra_body=extra_body, extra_headers=extra_headers, extra_query=extra_query)
        from openai._base_client import make_request_options

        options = make_request_options(extra_headers=extra_headers, extra_query=extra_query, extra_body=extra_body)
        return _Reply(self._client.post(self._path, body=params, options=options, cast_to=httpx.Response))


class _Reply:
    def __init__(self, response):
        self.http_response, self.headers = response, response.headers

    def parse(self) -> dict:
        return self.http_response.json()  # a body that is not JSON is a malformed reply, retried


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
