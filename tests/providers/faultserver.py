"""A fault-injecting OpenAI-compatible server on 127.0.0.1, for provider and runner tests.

    from tests.providers.faultserver import Fault, run_fault_server

    with run_fault_server(["429", "ok"]) as server:       # 1st request: 429, 2nd: ok, then ok
        adapter = OpenAIAdapter("local", server.base_url)
        ...
        assert len(server.requests) == 2
        server.usage_sent   # [None, {"prompt_tokens": ..., "completion_tokens": ...}]

``script`` is a list (the i-th request gets the i-th item; past the end, ``"ok"``) or a callable
``(index, body) -> Fault | str``. Items are ``Fault`` objects or these shorthands:

    ok          a normal answer (streamed when the request says stream=true), usage included
    no_usage    a normal answer without any usage object (some local servers)
    429         rate limited, ``Retry-After: 1``          (Fault("429", retry_after="Wed, ..."))
    500, 503    server errors;  401  auth error;  400  client error
    model_not_found   404 with OpenAI's "model does not exist" error body
    slow        waits ``delay_s`` (default 2 s) before the first byte, then ok
    cut         a few chunks, then the connection is dropped mid-stream
    no_done     a complete-looking stream that never sends ``data: [DONE]``
    malformed   a chunk that is not JSON, then [DONE]

It is a real HTTP server (``http.server`` in a thread, chunked transfer encoding for streams),
bound to 127.0.0.1 only.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Fault", "FaultServer", "run_fault_server"]


@dataclass(frozen=True)
class Fault:
    kind: str = "ok"
    retry_after: str | None = "1"
    delay_s: float = 2.0
    text: str = "Hello from the fault server."
    model: str | None = None
    usage: dict[str, Any] | None = None  # sent instead of the true counts (a hostile server's numbers)


Script = Sequence["Fault | str"] | Callable[[int, dict[str, Any]], "Fault | str"]


@dataclass
class FaultServer:
    script: Script
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    usage_sent: list[dict[str, int] | None] = field(default_factory=list)
    faults_used: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def next_fault(self, body: dict[str, Any], record: dict[str, Any]) -> Fault:
        with self.lock:
            index = len(self.requests)
            self.requests.append(record)
        item: Fault | str
        if callable(self.script):
            item = self.script(index, body)
        else:
            item = self.script[index] if index < len(self.script) else "ok"
        fault = item if isinstance(item, Fault) else Fault(item)
        with self.lock:
            self.faults_used.append(fault.kind)
        return fault

    def record_usage(self, usage: dict[str, int] | None) -> None:
        with self.lock:
            self.usage_sent.append(usage)


def _usage(body: dict[str, Any], text: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content", "")).split()) + 4 for m in body.get("messages") or [])
    completion = len(text.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _handler(server: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:
            try:
                self._serve()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout, or it stopped reading at a malformed chunk)

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            record = {
                "path": self.path,
                "headers": dict(self.headers.items()),
                "body": body,
                "time": time.time(),
                "client_port": self.client_address[1],  # same port = the connection was reused
            }
            fault = server.next_fault(body, record)
            kind = fault.kind
            if kind == "model_not_found":
                server.record_usage(None)
                model = body.get("model")
                self._json(404, {"error": {
                    "message": f"The model `{model}` does not exist or you do not have access to it.",
                    "type": "invalid_request_error", "param": None, "code": "model_not_found"}})
                return
            if kind in ("429", "500", "503", "401", "403", "400"):
                extra = {"Retry-After": fault.retry_after} if kind == "429" and fault.retry_after else {}
                server.record_usage(None)
                self._json(int(kind), {"error": {"message": f"injected {kind}", "code": int(kind)}}, extra)
                return
            if kind == "slow":
                time.sleep(fault.delay_s)
            model = fault.model or body.get("model", "fault-model")
            usage = None if kind in ("no_usage", "cut") else (fault.usage or _usage(body, fault.text))
            if not body.get("stream"):
                server.record_usage(usage)
                self._json(200, _completion(model, fault.text, usage))
                return
            include = bool((body.get("stream_options") or {}).get("include_usage"))
            sent_usage = usage if include else None
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            words = fault.text.split(" ")
            chunks = [_chunk(model, {"role": "assistant", "content": ""})]
            chunks += [_chunk(model, {"content": w + (" " if i < len(words) - 1 else "")}) for i, w in enumerate(words)]
            if kind == "cut":
                server.record_usage(None)
                for data in chunks[:3]:
                    self._send(f"data: {json.dumps(data)}\n\n")
                self.wfile.flush()
                # Drop the connection without the terminating zero-length chunk.
                self.close_connection = True
                self.connection.shutdown(2)
                return
            chunks.append(_chunk(model, {}, "stop"))
            if sent_usage:
                chunks.append(
                    {
                        "id": "chatcmpl-fault",
                        "object": "chat.completion.chunk",
                        "model": model,
                        "choices": [],
                        "usage": sent_usage,
                    }
                )
            server.record_usage(sent_usage)
            for i, data in enumerate(chunks):
                self._send(f"data: {json.dumps(data)}\n\n")
                if kind == "malformed" and i == 1:
                    self._send('data: {"id": "chatcmpl-fault", "choices": [{"delta": {"content": "x"\n\n')
            if kind != "no_done":
                self._send("data: [DONE]\n\n")
            self._send("")  # zero-length chunk: the body is complete

        def _send(self, text: str) -> None:
            data = text.encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fault",
        "object": "chat.completion.chunk",
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _completion(model: str, text: str, usage: dict[str, int] | None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": "chatcmpl-fault",
        "object": "chat.completion",
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
    }
    if usage is not None:
        payload["usage"] = usage
    return payload


@contextmanager
def run_fault_server(script: Script = (), port: int = 0) -> Iterator[FaultServer]:
    """Serve ``script`` on 127.0.0.1 (``port``, or a free one) for the duration of the ``with`` block."""
    state = FaultServer(script)
    httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
