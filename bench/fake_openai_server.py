"""A zero-latency OpenAI-compatible server for replay benchmarks (127.0.0.1 only).

Raw asyncio protocol, HTTP/1.1 keep-alive, no framework: it must never be the bottleneck. It
answers ``POST /v1/chat/completions`` (and ``/chat/completions``) with a fixed completion, as
server-sent events when the body asks for ``"stream": true`` (with the usage chunk before
``[DONE]``), and ``GET /v1/models``. Counts requests served and prints the count on exit.

    python bench/fake_openai_server.py --port 18080
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time

_COMPLETION = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1_759_276_800, "model": "bench-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris is the capital of France."},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28},
}).encode()


def _sse() -> bytes:
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_759_276_800,
            "model": "bench-model"}
    events = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {"content": "Paris is the capital"}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {"content": " of France."}, "finish_reason": None}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {**base, "choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28}},
    ]
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"


_STREAM = _sse()
_MODELS = json.dumps({"object": "list", "data": [{"id": "bench-model", "object": "model"}]}).encode()


def _response(body: bytes, ctype: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\ncontent-type: " + ctype + b"\r\ncontent-length: " + str(len(body)).encode()
            + b"\r\nconnection: keep-alive\r\n\r\n" + body)


RESP_JSON = _response(_COMPLETION, b"application/json")
RESP_SSE = _response(_STREAM, b"text/event-stream")
RESP_MODELS = _response(_MODELS, b"application/json")
RESP_404 = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: keep-alive\r\n\r\n"

served = 0


class Http(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        global served
        self.buf += data
        while True:
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buf[:head_end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            end = head_end + 4 + length
            if len(self.buf) < end:
                return
            body = self.buf[head_end + 4:end]
            self.buf = self.buf[end:]
            request_line = head.split(b"\r\n", 1)[0]
            served += 1
            if b"/chat/completions" in request_line:
                stream = b'"stream": true' in body or b'"stream":true' in body
                self.transport.write(RESP_SSE if stream else RESP_JSON)
            elif b"/models" in request_line:
                self.transport.write(RESP_MODELS)
            else:
                self.transport.write(RESP_404)


async def serve(host: str, port: int, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Http, host, port, backlog=1024)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"listening on http://{host}:{port}", flush=True)
    started = time.monotonic()
    # bounded: the server stops by itself after `seconds` even if nobody stops it
    while not stop.is_set() and time.monotonic() - started < seconds:
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except TimeoutError:
            pass
    server.close()
    print(f"served {served}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=18080)
    ap.add_argument("--max-seconds", type=float, default=1800.0)
    args = ap.parse_args()
    asyncio.run(serve("127.0.0.1", args.port, args.max_seconds))


if __name__ == "__main__":
    main()
