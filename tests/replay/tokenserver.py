"""An OpenAI-compatible server on 127.0.0.1 that streams tokens at known times, for timing tests.

    with run_token_server(ttft_s=0.1, itl_s=0.02, tokens=12) as server:
        ...  # server.base_url

Every answer is ``tokens`` one-token chunks: the first ``ttft_s`` after the request arrives, the
others ``itl_s`` apart (each chunk is sent and flushed on its own, chunked transfer encoding), then
the finish chunk, the usage chunk (``completion_tokens == tokens``) and ``[DONE]`` at once.

``slowdown`` makes it a server that slows with load: every time is multiplied by
``1 + slowdown × (requests in flight − 1)``, so latency rises with concurrency while throughput
levels off, as a GPU server's does once its batch is full.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["TokenServer", "run_token_server"]


@dataclass
class TokenServer:
    ttft_s: float
    itl_s: float
    tokens: int
    slowdown: float = 0.0
    port: int = 0
    in_flight: int = 0
    peak: int = 0
    served: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def enter(self) -> float:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            return 1 + self.slowdown * (self.in_flight - 1)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1
            self.served += 1


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-tok", "object": "chat.completion.chunk", "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _handler(server: TokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
            factor = server.enter()
            try:
                self._stream(body, factor)
            except (BrokenPipeError, ConnectionResetError):
                pass
            finally:
                server.leave()

        def _stream(self, body: dict[str, Any], factor: float) -> None:
            model = str(body.get("model", "tok"))
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            start = time.perf_counter()
            self._send(_chunk(model, {"role": "assistant", "content": ""}))
            for i in range(server.tokens):
                # Sleep to an absolute schedule so that send costs do not add up along the stream.
                due = start + (server.ttft_s + i * server.itl_s) * factor
                time.sleep(max(due - time.perf_counter(), 0.0))
                self._send(_chunk(model, {"content": f"t{i} "}))
            self._send(_chunk(model, {}, "stop"))
            prompt = sum(len(str(m.get("content", "")).split()) + 4 for m in body.get("messages") or [])
            usage = {"prompt_tokens": prompt, "completion_tokens": server.tokens,
                     "total_tokens": prompt + server.tokens}
            self._send({"id": "chatcmpl-tok", "object": "chat.completion.chunk", "model": model, "choices": [],
                        "usage": usage})
            self._raw(b"data: [DONE]\n\n")
            self._raw(b"")

        def _send(self, data: dict[str, Any]) -> None:
            self._raw(f"data: {json.dumps(data)}\n\n".encode())

        def _raw(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # a load sweep opens many connections at once; 5 would refuse some
    daemon_threads = True


@contextmanager
def run_token_server(*, ttft_s: float = 0.1, itl_s: float = 0.02, tokens: int = 12,
                     slowdown: float = 0.0) -> Iterator[TokenServer]:
    state = TokenServer(ttft_s, itl_s, tokens, slowdown)
    httpd = _Server(("127.0.0.1", 0), _handler(state))
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
