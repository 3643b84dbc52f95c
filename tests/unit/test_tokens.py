from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from ethos.agents.models.base import Backend
from ethos.agents.models.tokens import encoding_for, openai_token_counter


def test_tiktoken_counts_offline_from_the_shipped_bpe_files(tmp_path, monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    encoding_for.cache_clear()
    count = openai_token_counter("gpt-4o-mini")
    assert count("Hello world") == 2 and count("") == 0
    assert any(tmp_path.iterdir())  # the BPE file was placed in tiktoken's cache, not downloaded
    assert openai_token_counter("gpt-3.5-turbo")("Hello world") == 2  # cl100k_base
    encoding_for.cache_clear()


def test_an_endpoint_without_usage_is_counted_with_the_tokenizer():
    from ethos.agents.models.openai import _chat_class
    from ethos.agents.models.recording import recording

    class NoUsage(_chat_class()):
        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            return ChatResult(generations=[ChatGeneration(message=AIMessage(content="three little words"))])

    backend = Backend("openai:gpt-4o-mini", NoUsage(model="gpt-4o-mini", api_key="unused", base_url="http://127.0.0.1:9/v1"))
    with recording() as exchanges:
        reply = backend._invoke([("human", "one two")], "test")
    assert reply.usage_metadata == {"input_tokens": 2, "output_tokens": 3, "total_tokens": 5}
    assert exchanges[0].usage == reply.usage_metadata  # counted before the recorder saw the reply
