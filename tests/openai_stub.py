"""A minimal OpenAI-compatible server on 127.0.0.1 for tests (chat and text completions, with or
without logprobs)."""

from __future__ import annotations

import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StubOpenAI:
    """Answers /v1/chat/completions and /v1/completions; records every request's headers and body."""

    MALFORMED = {
        "empty_choices": b'{"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []}',
        "garbage": b"<html>not json",
        "no_message": b'{"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": [{"index": 0}]}',
    }

    def __init__(
        self,
        *,
        logprobs: bool = True,
        delay: float = 0.0,
        fail_first: int = 0,
        malformed_first: int = 0,
        malformed: str = "empty_choices",
        hostile: str | None = None,
        text: str | None = None,
        personas: str | None = None,
    ):
        self.logprobs = logprobs
        self.delay = delay
        self.fail_first = fail_first  # answer 503 this many times first (retry tests)
        self.malformed_first = malformed_first  # answer 200 with a malformed body this many times first
        self.malformed = malformed
        # hostile replies: "drip" (a byte every 0.2 s), "endless" (chunks that never end), "huge" (a
        # 20 MB body), "redirect" (307 to another origin), "error_body" (a 500 with a 5 MB body),
        # "bad_request", "unauthorized", "rate_limited" (400, 401, 429 with a 1 MB body echoing the key)
        self.hostile = hostile
        self.text = text  # the reply text instead of the stub's own
        self.personas = personas  # the persona generator's reply instead of the stub's own
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with stub._lock:
                    stub.requests.append(
                        {
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                            "time": time.monotonic(),
                        }
                    )
                    failing = stub.fail_first > 0
                    stub.fail_first -= int(failing)
                    malformed = not failing and stub.malformed_first > 0
                    stub.malformed_first -= int(malformed)
                if stub.delay:
                    time.sleep(stub.delay)
                if stub.hostile:
                    return self._hostile(stub.hostile, body)
                if failing:
                    return self._send(503, {"error": {"message": "busy", "type": "server_error"}})
                if malformed:
                    return self._send(200, raw=stub.MALFORMED[stub.malformed])
                if body.get("stream") and "messages" in body:
                    return self._stream(stub.completion(body))
                self._send(200, stub.completion(body))

            def _stream(self, reply: dict):
                """The reply as server-sent chunks, a word at a time, as a streaming endpoint sends it."""
                message = reply["choices"][0]["message"]["content"]
                words = [w + " " for w in message.split(" ")]
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for word in [*words, None]:
                    delta = {"role": "assistant", "content": word} if word is not None else {}
                    chunk = {"id": "stub", "object": "chat.completion.chunk", "created": 0, "model": reply["model"],
                             "choices": [{"index": 0, "delta": delta, "finish_reason": None if word is not None else "stop"}]}  # fmt: skip
                    self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                self.wfile.write(b"data: [DONE]\n\n")

            def _hostile(self, kind, body):
                try:
                    if kind == "redirect":
                        self.send_response(307)
                        self.send_header("Location", "http://127.0.0.2:9/v1/chat/completions")
                        self.send_header("Content-Length", "0")
                        return self.end_headers()
                    if kind == "error_body":
                        return self._send(500, raw=b'{"error": {"message": "' + b"x" * (5 * 2**20) + b'"}}')
                    if kind in ("bad_request", "unauthorized", "rate_limited"):  # 4xx with a big body echoing the request
                        status = {"bad_request": 400, "unauthorized": 401, "rate_limited": 429}[kind]
                        echo = f"Authorization: {self.headers.get('Authorization')} \x1b]0;owned\x07 ".encode()
                        return self._send(status, raw=b'{"error": {"message": "' + echo + b"y" * 2**20 + b'"}}')
                    data = json.dumps(stub.completion(body)).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    if kind == "huge":
                        self.send_header("Content-Length", str(20 * 2**20))
                        self.end_headers()
                        for _ in range(20 * 16):
                            self.wfile.write(b" " * 65536)
                        return
                    if kind == "drip":
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        for byte in data:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(0.2)
                        return
                    self.send_header("Transfer-Encoding", "chunked")  # endless
                    self.end_headers()
                    while True:
                        self.wfile.write(b"1\r\n \r\n")
                        self.wfile.flush()
                        time.sleep(0.05)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(self, status, payload=None, raw: bytes | None = None):
                data = raw if raw is not None else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def completion(self, body: dict) -> dict:
        if "prompt" in body:  # /v1/completions: a raw prompt (base models, the reference protocol)
            return self.text_completion(body)
        prompt = body["messages"][-1]["content"]
        if "ethical perspectives" in prompt:
            text = self.personas or (
                "#Stub Nurse: dignity; care ethics; duty to advocate; compassion; nurse\n#Stub Lawyer: law; legal positivism; duty to comply; caution; lawyer"
            )
        else:
            text = self.text or "B. A stub comment that weighs duties and rights carefully."
        choice = {"index": 0, "message": {"role": "assistant", "content": text[: 4 * body.get("max_tokens", 200)]}, "finish_reason": "stop"}
        if body.get("logprobs") and self.logprobs:
            top = [
                {"token": "B", "logprob": math.log(0.6)},
                {"token": " B", "logprob": math.log(0.1)},
                {"token": "A", "logprob": math.log(0.3)},
            ]
            choice["logprobs"] = {"content": [{"token": "B", "logprob": math.log(0.6), "top_logprobs": top[: body.get("top_logprobs", 3)]}]}
        return {
            "id": "stub",
            "object": "chat.completion",
            "created": 0,
            "model": body.get("model", "stub"),
            "choices": [choice],
            "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split()), "total_tokens": 0},
        }

    def text_completion(self, body: dict) -> dict:
        text = self.text or "B. A stub answer."
        choice = {"index": 0, "text": text[: 4 * body.get("max_tokens", 200)], "finish_reason": "stop", "logprobs": None}
        if body.get("logprobs") and self.logprobs:
            top = {"B": math.log(0.6), " B": math.log(0.1), "A": math.log(0.3)}
            choice["logprobs"] = {"tokens": ["B"], "token_logprobs": [math.log(0.6)], "top_logprobs": [top], "text_offset": [0]}
        return {
            "id": "stub",
            "object": "text_completion",
            "created": 0,
            "model": body.get("model", "stub"),
            "choices": [choice],
            "usage": {"prompt_tokens": len(body["prompt"].split()), "completion_tokens": len(text.split()), "total_tokens": 0},
        }
