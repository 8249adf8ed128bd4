"""Scripted OpenAI-compatible HTTP server on 127.0.0.1 (stdlib only): the one fake, at the network boundary.

Each POST /v1/chat/completions takes the next scripted reply, else asks the responder, else uses `default`;
a plain `str` is shorthand for `Reply(text=...)`. The real `openai` client / llama-index talk to `base_url`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import math
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    text: str = ""  # the assistant message content
    status: int = 200  # e.g. 429, 500, 503
    headers: dict[str, str] = field(default_factory=dict)  # e.g. {"Retry-After": "1"}
    delay: float = 0.0  # seconds to sleep before answering (for timeouts)
    token_delay: float = 0.0  # seconds between streamed chunks
    cut_after: int | None = None  # stream: drop the connection after this many content chunks
    end_without_done: bool = False  # stream: no finish_reason chunk, no [DONE], clean end of body
    finish_reason: str = "stop"  # "length": the server stopped at max_tokens
    invalid_json: bool = False  # body (or each SSE data line) is not valid JSON
    body: str | None = None  # raw body override for error responses


Responder = Callable[[dict[str, Any]], Reply | str]
_TOKEN = re.compile(r"\S+\s*|\s+")  # streamed pieces: words with their trailing whitespace


def fake_embedding(text: str) -> list[float]:
    """Deterministic, L2-normalised 8-dim vector derived from a hash of `text`."""
    raw = [b - 127.5 for b in hashlib.sha256(text.encode()).digest()[:8]]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr
        pass

    def setup(self) -> None:
        super().setup()
        with self.server.fake._lock:
            self.server.fake._connections.add(self.connection)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        with self.server.fake._lock:
            self.server.fake._connections.discard(self.connection)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except OSError:  # the client went away, or we cut the connection on purpose
            self.close_connection = True

    def _send(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
        data = body.encode()
        json_headers = {"Content-Type": "application/json", "Content-Length": f"{len(data)}"}
        self._head(status, {**json_headers, **(headers or {})})
        self.wfile.write(data)

    def _head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            model = {"id": "fake", "object": "model", "created": 0, "owned_by": "fake"}
            self._send(200, json.dumps({"object": "list", "data": [model]}))
        else:
            self._send(404, _error(f"no route GET {self.path}", 404))

    def do_POST(self) -> None:
        path = self.path.split("?")[0].rstrip("/")
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            request = json.loads(raw or b"{}")
        except ValueError:
            request = None
        if path not in ("/v1/chat/completions", "/v1/embeddings"):
            self._send(404, _error(f"no route POST {self.path}", 404))
        elif not isinstance(request, dict):
            self._send(400, _error("request body is not a JSON object", 400))
        elif path == "/v1/embeddings":
            self._embeddings(request)
        else:
            self._chat(request, self.server.fake._next_reply(request))

    def _chat(self, request: dict[str, Any], reply: Reply) -> None:
        if reply.delay and self.server.fake._stopping.wait(reply.delay):
            raise ConnectionAbortedError("fake stopped")
        if reply.status >= 400:
            body = reply.body if reply.body is not None else _error(reply.text or "fake error", reply.status)
            self._send(reply.status, "{not json" if reply.invalid_json else body, reply.headers)
        elif request.get("stream"):
            self._stream(request, reply)
        else:
            self._send(reply.status, "{not json" if reply.invalid_json else _completion(request, reply))

    def _embeddings(self, request: dict[str, Any]) -> None:
        inputs = request.get("input", "")
        texts = [inputs] if isinstance(inputs, str) else [str(item) for item in inputs]
        data: list[dict[str, Any]] = []
        for index, text in enumerate(texts):
            vector: Any = fake_embedding(text)
            if request.get("encoding_format") == "base64":
                vector = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": vector})
        usage = dict.fromkeys(("prompt_tokens", "total_tokens"), sum(len(t.split()) for t in texts))
        body = {"object": "list", "data": data, "model": request.get("model"), "usage": usage}
        self._send(200, json.dumps(body))

    def _stream(self, request: dict[str, Any], reply: Reply) -> None:
        sse = {"Content-Type": "text/event-stream", "Transfer-Encoding": "chunked"}
        self._head(reply.status, {**sse, "Cache-Control": "no-cache", **reply.headers})
        model, created = request.get("model", "fake"), int(time.time())
        chunk_id = f"chatcmpl-fake-{time.monotonic_ns()}"

        def send(choices: list[dict[str, Any]], **extra: Any) -> None:
            chunk = dict(id=chunk_id, object="chat.completion.chunk", created=created, model=model, **extra)
            chunk["choices"] = choices
            self._chunk(f"data: {'{not json' if reply.invalid_json else json.dumps(chunk)}\n\n")

        def event(delta: dict[str, Any], finish: str | None) -> None:
            send([{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}])

        event({"role": "assistant", "content": ""}, None)  # like OpenAI: a role-only first chunk
        for count, token in enumerate(_TOKEN.findall(reply.text)):
            if reply.cut_after is not None and count >= reply.cut_after:
                self._cut()
            if reply.token_delay and self.server.fake._stopping.wait(reply.token_delay):
                raise ConnectionAbortedError("fake stopped")
            event({"content": token}, None)
        if reply.cut_after is not None:
            self._cut()
        if not reply.end_without_done:
            event({}, reply.finish_reason)
            if (request.get("stream_options") or {}).get("include_usage"):
                send([], usage=_usage(request, reply.text))
            self._chunk("data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")  # well-formed end of the chunked body

    def _chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _cut(self) -> None:  # drop the TCP connection mid-body: the chunked body is left incomplete
        self.connection.shutdown(socket.SHUT_RDWR)
        raise ConnectionAbortedError("cut on purpose")


def _error(message: str, status: int) -> str:
    kinds = {400: "invalid_request_error", 404: "not_found_error", 429: "rate_limit_exceeded"}
    kind = kinds.get(status, "server_error")
    return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": kind}})


def _usage(request: dict[str, Any], text: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content", "")).split()) for m in request.get("messages", []))
    done = len(_TOKEN.findall(text))
    return {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}


def _completion(request: dict[str, Any], reply: Reply) -> str:
    message = {"role": "assistant", "content": reply.text}
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
    head = dict(id=f"chatcmpl-fake-{time.monotonic_ns()}", object="chat.completion", created=int(time.time()))
    usage = _usage(request, reply.text)
    return json.dumps({**head, "model": request.get("model", "fake"), "choices": [choice], "usage": usage})


class _Server(ThreadingHTTPServer):
    block_on_close = False  # never wait on handlers that sleep or stream at stop()
    fake: FakeOpenAI


class FakeOpenAI:
    def __init__(self, script: Iterable[Reply | str] | Responder | None = None, default: Reply | str = "OK"):
        self._responder: Responder | None = script if callable(script) else None
        self._queue: deque[Reply | str] = deque() if script is None or callable(script) else deque(script)
        self.default = default
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self.base_url = ""  # "http://127.0.0.1:PORT/v1" once started

    def push(self, *replies: Reply | str) -> None:
        with self._lock:
            self._queue.extend(replies)

    def start(self) -> FakeOpenAI:
        if self._server is None:
            self._stopping.clear()
            self._server = _Server(("127.0.0.1", 0), _Handler)
            self._server.fake = self
            self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
            threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:  # wake handlers blocked on idle keep-alive connections
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_reply(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(request)
            reply = self._queue.popleft() if self._queue else None
        if reply is None:
            reply = self._responder(request) if self._responder is not None else self.default
        return Reply(text=reply) if isinstance(reply, str) else reply
