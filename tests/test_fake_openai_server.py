"""The scripted OpenAI fake, driven by the real `openai` client and llama-index's OpenAILike over HTTP.

These tests also pin down which exception each fault surfaces as, so the code under test can be written
against real behaviour:

* 429 -> openai.RateLimitError; 500/503 -> openai.InternalServerError (the openai client raises them on
  `create()`, also for stream=True, and llama-index lets them through unchanged).
* server slower than the client timeout -> openai.APITimeoutError (cause: httpx.ReadTimeout).
* body / SSE data that is not JSON -> json.JSONDecodeError (a ValueError), not wrapped by openai.
* connection dropped mid-stream -> httpx.RemoteProtocolError ("incomplete chunked read"), raised while
  iterating; neither openai nor llama-index wraps it into openai.APIConnectionError.
* stream that ends cleanly without finish_reason / [DONE] -> no exception at all: the only signal is that
  no chunk carried a finish_reason (via llama-index: `ChatResponse.raw.choices[0].finish_reason`).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Literal, TypedDict

import httpx
import openai
import pytest
from fakes.openai_server import FakeOpenAI, Reply, fake_embedding
from llama_index.core.llms import ChatMessage, ChatResponse
from llama_index.llms.openai_like import OpenAILike
from openai.types.chat import ChatCompletionMessageParam

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]


class EmbeddingOptions(TypedDict, total=False):
    encoding_format: Literal["float", "base64"]


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


def client(fake: FakeOpenAI, **kwargs) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.base_url, api_key="test", **{"max_retries": 0, **kwargs})


def chat(fake: FakeOpenAI, **kwargs):
    return client(fake, **kwargs).chat.completions.create(model="fake-model", messages=MESSAGES)


def stream(fake: FakeOpenAI, **kwargs):
    return client(fake, **kwargs).chat.completions.create(model="fake-model", messages=MESSAGES, stream=True)


def llm(fake: FakeOpenAI) -> OpenAILike:
    return OpenAILike(
        model="fake", api_base=fake.base_url, api_key="x", is_chat_model=True, timeout=5, max_retries=0
    )


def llama_stream(fake: FakeOpenAI) -> list[ChatResponse]:
    return list(llm(fake).stream_chat([ChatMessage(role="user", content="hi")]))


# -- the happy paths ---------------------------------------------------------------------------------
def test_non_stream_reply_is_a_chat_completion(fake: FakeOpenAI) -> None:
    fake.push("Hello there.")
    completion = chat(fake)
    assert completion.object == "chat.completion"
    assert completion.model == "fake-model"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == "Hello there."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    assert fake.requests[0]["model"] == "fake-model"
    assert fake.requests[0]["messages"] == MESSAGES


def test_script_then_responder_then_default() -> None:
    with FakeOpenAI(["first"], default="fallback") as fake:
        assert chat(fake).choices[0].message.content == "first"
        assert chat(fake).choices[0].message.content == "fallback"
    with FakeOpenAI(lambda request: f"echo {request['messages'][-1]['content']}") as fake:
        fake.push(Reply("scripted wins"))
        assert chat(fake).choices[0].message.content == "scripted wins"
        assert chat(fake).choices[0].message.content == "echo hi"
        assert len(fake.requests) == 2


def test_streamed_tokens_reassemble_the_text(fake: FakeOpenAI) -> None:
    text = "Gradient descent  follows the slope.\nThen it stops."
    fake.push(text)
    chunks = list(stream(fake))
    assert all(c.object == "chat.completion.chunk" and c.model == "fake-model" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == text
    assert len(chunks) > 4  # really split into pieces
    assert [c.choices[0].finish_reason for c in chunks][-2:] == [None, "stop"]
    assert fake.requests[0]["stream"] is True


def test_stream_arrives_incrementally(fake: FakeOpenAI) -> None:
    fake.push(Reply("one two three four five six", token_delay=0.1))
    arrivals = []
    for chunk in stream(fake):
        if chunk.choices[0].delta.content:
            arrivals.append(time.monotonic())
    assert len(arrivals) == 6
    assert arrivals[-1] - arrivals[0] >= 0.4  # the first token was not held back until the end


def test_models_embeddings_and_unknown_routes(fake: FakeOpenAI) -> None:
    c = client(fake)
    assert [m.id for m in c.models.list().data] == ["fake"]
    # the openai client asks for base64 by default and decodes it; floats are served when asked for
    cases: list[EmbeddingOptions] = [{}, {"encoding_format": "float"}]
    for kwargs in cases:
        result = c.embeddings.create(model="emb", input=["alpha", "beta", "alpha"], **kwargs)
        vectors = [d.embedding for d in result.data]
        assert vectors[0] == pytest.approx(fake_embedding("alpha"), abs=1e-6)
        assert vectors[0] == pytest.approx(vectors[2]) and vectors[0] != pytest.approx(vectors[1])
        assert all(len(v) == 8 and sum(x * x for x in v) == pytest.approx(1.0, abs=1e-5) for v in vectors)
    assert fake.requests == []  # only chat requests are recorded
    raw = httpx.post(f"{fake.base_url}/nope", json={})
    assert raw.status_code == 404 and "error" in raw.json()
    assert httpx.get(f"{fake.base_url}/nope").status_code == 404


def test_concurrent_requests_are_all_served_and_recorded(fake: FakeOpenAI) -> None:
    fake.push(*[Reply(f"r{i}", delay=0.05) for i in range(8)])
    answers: list[str] = []
    threads = [
        threading.Thread(target=lambda: answers.append(chat(fake).choices[0].message.content))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == sorted(f"r{i}" for i in range(8))
    assert len(fake.requests) == 8


def test_stop_is_quick_even_with_a_request_in_flight() -> None:
    fake = FakeOpenAI([Reply("late", delay=30)]).start()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            chat(fake, timeout=10)
        except openai.APIError as error:
            errors.append(error)

    worker = threading.Thread(target=call)
    worker.start()
    while not fake.requests:
        time.sleep(0.01)
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 1.0
    worker.join(timeout=5)
    assert not worker.is_alive()
    assert [type(e) for e in errors] == [openai.APIConnectionError]  # the in-flight request is dropped


# -- faults, via the openai client --------------------------------------------------------------------
def test_429_raises_rate_limit_error_without_retries(fake: FakeOpenAI) -> None:
    fake.push(Reply(status=429, headers={"Retry-After": "1"}))
    with pytest.raises(openai.RateLimitError) as caught:
        chat(fake)
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "1"
    assert caught.value.code == "rate_limit_exceeded"
    assert len(fake.requests) == 1


def test_429_then_ok_succeeds_with_one_retry(fake: FakeOpenAI) -> None:
    fake.push(Reply(status=429, headers={"Retry-After": "1"}), "ok")
    assert chat(fake, max_retries=1).choices[0].message.content == "ok"
    assert len(fake.requests) == 2


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_raises_internal_server_error(fake: FakeOpenAI, status: int) -> None:
    fake.push(Reply(status=status), Reply(status=status))
    with pytest.raises(openai.InternalServerError) as caught:
        chat(fake)
    assert caught.value.status_code == status
    with pytest.raises(openai.InternalServerError):  # a stream fails at create(), before any chunk
        stream(fake)


def test_error_body_override(fake: FakeOpenAI) -> None:
    fake.push(Reply(status=400, body=json.dumps({"error": {"message": "context too long", "code": "x"}})))
    with pytest.raises(openai.BadRequestError, match="context too long"):
        chat(fake)


def test_delay_beyond_client_timeout_raises_api_timeout_error(fake: FakeOpenAI) -> None:
    fake.push(Reply("too late", delay=2))
    with pytest.raises(openai.APITimeoutError) as caught:
        chat(fake, timeout=0.3)
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


def test_invalid_json_raises_json_decode_error(fake: FakeOpenAI) -> None:
    # Not wrapped by openai: a plain json.JSONDecodeError (a ValueError), for both kinds of response.
    fake.push(Reply("x", invalid_json=True))
    with pytest.raises(json.JSONDecodeError):
        chat(fake)
    fake.push(Reply("x y", invalid_json=True))
    with pytest.raises(json.JSONDecodeError):
        list(stream(fake))


def test_cut_stream_raises_remote_protocol_error(fake: FakeOpenAI) -> None:
    fake.push(Reply("a b c d e", cut_after=2))
    received: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
        for chunk in stream(fake):
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "a b "  # what arrived before the cut is still delivered
    assert not issubclass(httpx.RemoteProtocolError, openai.APIError)  # NOT openai.APIConnectionError


def test_stream_ending_without_done_has_no_finish_reason(fake: FakeOpenAI) -> None:
    fake.push(Reply("a b c", end_without_done=True))
    chunks = list(stream(fake))  # ends quietly: no exception
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "a b c"
    assert chunks[-1].choices[0].finish_reason is None
    assert all(c.choices[0].finish_reason is None for c in chunks)


# -- llama-index OpenAILike over the same wire ---------------------------------------------------------
def test_llama_index_stream_chat_reassembles_text(fake: FakeOpenAI) -> None:
    fake.push("Backpropagation is the chain rule, applied.")
    responses = llama_stream(fake)
    assert "".join(r.delta or "" for r in responses) == "Backpropagation is the chain rule, applied."
    assert responses[-1].message.content == "Backpropagation is the chain rule, applied."
    # raw is the openai ChatCompletionChunk: the last one carries finish_reason "stop"
    assert responses[-1].raw is not None and responses[-1].raw.choices[0].finish_reason == "stop"
    assert fake.requests[0]["stream"] is True and fake.requests[0]["model"] == "fake"


def test_llama_index_cut_stream_raises_httpx_remote_protocol_error(fake: FakeOpenAI) -> None:
    fake.push(Reply("a b c d e", cut_after=2))
    deltas: list[str] = []
    with pytest.raises(httpx.RemoteProtocolError):
        for response in llm(fake).stream_chat([ChatMessage(role="user", content="hi")]):
            deltas.append(response.delta or "")
    assert "".join(deltas) == "a b "


def test_llama_index_stream_without_finish_reason_is_detectable(fake: FakeOpenAI) -> None:
    fake.push(Reply("a b c", end_without_done=True))
    responses = llama_stream(fake)  # no exception
    assert responses[-1].message.content == "a b c"
    finish = [r.raw.choices[0].finish_reason for r in responses if r.raw is not None and r.raw.choices]
    assert finish[-1] is None and set(finish) == {None}


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(status=429), openai.RateLimitError),
        (Reply(status=500), openai.InternalServerError),
        (Reply("x", invalid_json=True), json.JSONDecodeError),
    ],
)
def test_llama_index_surfaces_openai_errors_unchanged(fake: FakeOpenAI, reply: Reply, error: type) -> None:
    fake.push(reply)
    with pytest.raises(error):
        llama_stream(fake)


def test_llama_index_timeout_raises_api_timeout_error(fake: FakeOpenAI) -> None:
    fake.push(Reply("too late", delay=3))
    model = OpenAILike(
        model="fake", api_base=fake.base_url, api_key="x", is_chat_model=True, timeout=0.3, max_retries=0
    )
    with pytest.raises(openai.APITimeoutError):
        list(model.stream_chat([ChatMessage(role="user", content="hi")]))
