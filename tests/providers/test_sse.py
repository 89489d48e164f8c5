from __future__ import annotations

from llmaudit.providers.sse import SSEDecoder, SSEEvent, iter_events


def test_fields_comments_crlf_and_multiline_data() -> None:
    text = ': keep-alive\r\n\r\nevent: message_start\r\ndata: {"a":\r\ndata: 1}\r\n\r\ndata:x\n\nid: 3\nretry: 10\n\n'
    assert list(iter_events([text])) == [SSEEvent('{"a":\n1}', "message_start"), SSEEvent("x")]


def test_flush_returns_an_unterminated_last_event() -> None:
    decoder = SSEDecoder()
    assert decoder.feed("data: [DONE]") is None
    assert decoder.flush() == SSEEvent("[DONE]")
    assert decoder.flush() is None
