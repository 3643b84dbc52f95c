"""Real servers on 127.0.0.1: `langgraph dev` serving the graph, llama.cpp's OpenAI-compatible
server for the `openai` backend, and a stub endpoint without logprobs, failing or rate-limited."""

import json

import httpx
import pytest
from langgraph_sdk import get_sync_client
from openai_stub import StubOpenAI
from servers import langgraph_dev, llama_server
from tests_paths import FIXTURES

from ethos.cli import main
from ethos.graph.context import Context
from ethos.graph.served import CLIENT_SETTINGS, ServedContext, client_context

SMALL = ["--n-personas", "3", "--persona-attempts", "1", "--persona-tokens", "60", "--comment-tokens", "24", "--moderator-tokens", "24"]
QUESTION = ["Should hospitals publish their prices?", "--option", "Yes", "--option", "No", "--option", "Not sure"]


def run_json(capsys, *argv):
    assert main(["run", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def graph_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("langgraph-dev")
    with langgraph_dev(workdir, {"ETHOS_MODEL": "fake", "ETHOS_RUNS_DIR": str(workdir / "runs")}) as url:
        yield url


def test_langgraph_dev_serves_every_mode(graph_server):
    client = get_sync_client(url=graph_server)
    requests = {
        "overton": {"situation": "A family asks a doctor to withhold a diagnosis.", "mode": "overton"},
        "steerable": {"situation": "Should she be told?", "mode": "steerable", "target": "Right to know", "options": ["Yes", "No"]},
        "distributional": {"situation": "Should she be told?", "mode": "distributional", "options": ["Yes", "No"], "attribute": "Japan"},
    }
    for mode, request in requests.items():
        state = client.runs.wait(None, "ethos", input=request, context={"n_personas": 3})
        assert state["result"]["mode"] == mode and len(state["comments"]) == 3 and not state.get("conversation")  # unless asked
        # as `ethos run --json` gives them: the run id, the usage and the fallbacks
        assert (
            state["run"]["run_id"] and state["run"]["usage"]["new_tokens"] > 0 and state["run"]["fallbacks"]["uniform_distributions"] == 0
        )
    assert state["result"]["distribution"] == pytest.approx(
        [sum(p["probs"][k] for p in state["result"]["per_persona"]) / 3 for k in range(2)]
    )
    nodes = [
        list(part.data)[0]
        for part in client.runs.stream(None, "ethos", input=requests["overton"], context={"n_personas": 2}, stream_mode="updates")
        if part.event == "updates"
    ]
    assert nodes == ["seed_personas", "persona_agent", "persona_agent", "overton_moderator", "summarise"]
    batch = client.runs.create_batch(
        [
            {"assistant_id": "ethos", "input": requests["distributional"], "context": {"n_personas": 2, "seed": i}, "on_completion": "keep"}
            for i in range(3)
        ]
    )
    results = [client.runs.join(run["thread_id"], run["run_id"]) for run in batch]
    assert all(len(r["result"]["per_persona"]) == 2 for r in results)


def test_a_client_cannot_point_the_server_at_a_host_a_model_or_a_file(graph_server, tmp_path):
    client = get_sync_client(url=graph_server)
    request = {"situation": "A family asks a doctor to withhold a diagnosis.", "mode": "overton"}
    secret = tmp_path / "secret.toml"
    secret.write_text(
        '[[persona]]\nname = "Leaked"\ncore_value = "x"\nframework = "x"\nright_or_duty = "x"\nemotion = "x"\nstakeholder = "x"\n'
    )
    with StubOpenAI() as stub:
        hostile = {
            "base_url": stub.url,
            "generator_model": "openai:x",
            "agent_model": "openai:x",
            "moderator_model": f"gguf:{secret}",
            "persona_files": [str(secret)],
            "timeout": 1e9,
        }
        for key, value in hostile.items():  # each refused at the door by name, before any run or model call
            reply = httpx.post(f"{graph_server}/runs/wait", json={"assistant_id": "ethos", "input": request, "context": {key: value}})
            assert reply.status_code == 422 and reply.json()["detail"].startswith(f"context.{key}: "), reply.text
        assert stub.requests == []  # nothing reached the client's host, with or without the server's key
    schema = client.assistants.get_schemas(client.assistants.search(graph_id="ethos")[0]["assistant_id"])["context_schema"]
    assert set(schema["properties"]) == set(CLIENT_SETTINGS) and "base_url" not in schema["properties"]
    for bad, field in (({"persona_tokens": 10**6}, "persona_tokens"), ({"n_personas": "many"}, "n_personas")):
        with pytest.raises(Exception, match=field):  # the error names the field and the rule
            client.runs.wait(None, "ethos", input=request, context=bad, raise_error=True)


SITUATION = {"situation": "A family asks a doctor to withhold a diagnosis.", "mode": "overton"}
BAD_REQUESTS = [  # what a client may get wrong, and the field the 422 names
    ({"input": {"situation": 7}}, "input: request field 'situation' must be text"),
    ({"input": {"mode": "overton"}}, "input: the situation or question text is empty"),
    ({"input": {"situation": {"nested": "x"}}}, "input: request field 'situation' must be text"),
    ({"input": SITUATION | {"mode": "chorus"}}, "input: unknown mode 'chorus'"),
    ({"input": SITUATION | {"mode": "distributional", "options": [f"o{i}" for i in range(27)]}}, "input: at most 26 options"),
    ({"input": SITUATION, "context": {"method": "bogus"}}, "context: method: unknown value 'bogus'"),
    ({"input": SITUATION, "context": {"personas": "bogus"}}, "context: --personas: unknown value 'bogus'"),
    ({"input": SITUATION, "context": {"protocol": "bogus"}}, "context: --protocol: unknown value 'bogus'"),
    ({"input": SITUATION, "context": {"n_personas": "2"}}, "context.n_personas: Input should be a valid integer"),
    ({"input": SITUATION, "context": {"n_personas": True}}, "context.n_personas: Input should be a valid integer"),
    ({"input": SITUATION, "context": {"conversation_in_state": "yes"}}, "context.conversation_in_state: Input should be a valid boolean"),
    ({"input": SITUATION, "context": {"ablations": ["../../etc/passwd"]}}, "context: ablations: unknown '../../etc/passwd'"),
    ({"input": SITUATION, "context": {"ablations": ["personas-1000"]}}, "context: ablations: unknown 'personas-1000'"),
    ({"input": SITUATION, "context": {"agent_variant": "bogus"}}, "context: unknown --agent-variant 'bogus'"),
    ({"input": SITUATION, "context": "n_personas=2"}, "context must be an object"),
]


def test_a_bad_request_is_a_422_naming_the_field_and_the_rule(graph_server):
    for body, says in BAD_REQUESTS:
        for path in ("/runs/wait", "/runs/stream", "/runs"):
            reply = httpx.post(graph_server + path, json={"assistant_id": "ethos", **body}, timeout=30)
            assert (reply.status_code, reply.json()["detail"][: len(says)]) == (422, says), (path, body)
    thread = httpx.post(f"{graph_server}/threads", json={}).json()["thread_id"]
    reply = httpx.post(f"{graph_server}/threads/{thread}/runs/wait", json={"assistant_id": "ethos", **BAD_REQUESTS[-2][0]})
    assert reply.status_code == 422
    assert httpx.post(f"{graph_server}/runs/wait", content=b"{not json", headers={"content-type": "application/json"}).status_code == 422
    assert httpx.post(f"{graph_server}/runs/wait", content=b"[" * 3_000_000).status_code == 413
    good = httpx.post(
        f"{graph_server}/runs/wait", json={"assistant_id": "ethos", "input": SITUATION, "context": {"n_personas": 2}}, timeout=60
    )
    assert good.status_code == 200 and len(good.json()["comments"]) == 2  # a good request passes the door unchanged


def test_an_assistant_stores_only_a_context_the_served_checks_pass(graph_server):
    """An assistant's context is every later run's: it passes the same door as a run's."""
    for context, says in (({"n_personas": 999}, "context"), ({"ablations": ["no-such"]}, "context: ablations: unknown"),
                          ({"agent_variant": "evil"}, "context: unknown --agent-variant 'evil'")):  # fmt: skip
        reply = httpx.post(f"{graph_server}/assistants", json={"graph_id": "ethos", "context": context}, timeout=30)
        assert reply.status_code == 422 and reply.json()["detail"].startswith(says), reply.text
    made = httpx.post(f"{graph_server}/assistants", json={"graph_id": "ethos", "context": {"n_personas": 2}}, timeout=30)
    assert made.status_code == 200, made.text
    assistant = made.json()["assistant_id"]
    reply = httpx.patch(f"{graph_server}/assistants/{assistant}", json={"context": {"n_personas": 999}}, timeout=30)
    assert reply.status_code == 422
    run = httpx.post(f"{graph_server}/runs/wait", json={"assistant_id": assistant, "input": SITUATION}, timeout=60)
    assert run.status_code == 200 and len(run.json()["comments"]) == 2  # the stored good context runs


def test_a_served_run_returns_no_key_an_endpoint_reflects(tmp_path):
    secret = "sk-server-secret-0123456789abcdef"
    with StubOpenAI(text=f"B. Echoed: Authorization: Bearer {secret}") as stub:
        env = {
            "ETHOS_MODEL": "openai:stub-model",
            "ETHOS_BASE_URL": stub.url,
            "OPENAI_API_KEY": secret,
            "ETHOS_RUNS_DIR": str(tmp_path / "r"),
        }
        with langgraph_dev(tmp_path, env) as url:
            state = get_sync_client(url=url).runs.wait(None, "ethos", input=SITUATION, context={"n_personas": 2})
        assert stub.requests and all(r["headers"]["authorization"] == f"Bearer {secret}" for r in stub.requests)  # the key was used
    assert state["comments"] and secret not in json.dumps(state) and "[redacted]" in json.dumps(state)
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_a_served_context_refuses_what_only_the_operator_sets():
    with pytest.raises(ValueError, match="base_url"):
        ServedContext(base_url="http://127.0.0.1:9/v1")
    assert ServedContext(n_personas=3).context().n_personas == 3
    assert set(client_context(Context(base_url="http://user:key@127.0.0.1:9/v1"))) == set(
        CLIENT_SETTINGS
    )  # eval --server sends no endpoint


def test_comments_stream_token_by_token_through_the_server(graph_server):
    client = get_sync_client(url=graph_server)
    request = {"situation": "A family asks a doctor to withhold a diagnosis.", "mode": "overton"}
    pieces: dict = {}
    for part in client.runs.stream(None, "ethos", input=request, context={"n_personas": 2}, stream_mode="messages-tuple"):
        if part.event == "messages":
            chunk, metadata = part.data
            if metadata.get("ethos_role") == "persona_agent":
                pieces.setdefault(metadata["ethos_persona_index"], []).append(chunk["content"])
    assert sorted(pieces) == [0, 1] and all(len(p) > 5 for p in pieces.values())  # each agent's comment, piece by piece


def test_two_runs_on_one_server_thread_keep_their_comments_apart(graph_server):
    client = get_sync_client(url=graph_server)
    thread = client.threads.create()
    first = client.runs.wait(
        thread["thread_id"],
        "ethos",
        input={"situation": "A first situation.", "mode": "overton"},
        context={"n_personas": 3, "conversation_in_state": True},
    )
    second = client.runs.wait(
        thread["thread_id"],
        "ethos",
        input={"situation": "A second situation.", "mode": "overton"},
        context={"n_personas": 2, "conversation_in_state": True},
    )
    assert len(first["comments"]) == 3 and len(second["comments"]) == 2  # not 3 + 2
    assert [e["node"] for e in second["conversation"]] == ["seed_personas", "persona_agent", "persona_agent", "overton_moderator"]
    assert "A second situation." in second["conversation"][-1]["messages"][-1][1]
    assert len(client.threads.get_history(thread["thread_id"])) > 4  # both runs are checkpointed on the thread


def test_eval_submits_items_to_the_server_and_resumes_from_its_store(graph_server, tmp_path, capsys, runs_dir):
    argv = [
        "eval",
        "--server",
        graph_server,
        "--task",
        "distributional-globalopinionqa",
        "--method",
        "ethosagents",
        "--data",
        str(FIXTURES),
        "--model",
        "fake",
        "--n-personas",
        "2",
        "--out",
        str(tmp_path),
        "--no-progress",
    ]
    assert main(argv) == 0
    predictions = json.loads((tmp_path / "ethosagents" / "predictions.json").read_text())
    assert predictions[0]["pred_distribution"] and len(predictions[0]["pred_distribution"]) == 4
    assert main(argv) == 0  # every item is done: the server is asked only which models it runs
    # The server's models answer, and the results are filed under them, not under the client's --model.
    capsys.readouterr()
    assert main([*argv[:-3], "--model", "fake:0.001", "--no-progress", "--json"]) == 0
    assert [row["model"] for row in json.loads(capsys.readouterr().out)] == ["fake"]
    assert [p.name for p in (runs_dir / "eval").iterdir()] == ["fake"]
    assert main(argv[:2] + ["http://127.0.0.1:9"] + argv[3:]) == 1  # a server that cannot say which models answer
    assert "cannot reach the LangGraph server at http://127.0.0.1:9" in capsys.readouterr().err
    # Every method is the same graph, so the baselines run on the server too, with the same predictions as in-process.
    baselines = [
        "--task",
        "distributional-globalopinionqa",
        "--method",
        "vanilla,moe,modplural",
        "--data",
        str(FIXTURES),
        "--model",
        "fake",
        "--no-progress",
    ]
    assert main(["eval", "--server", graph_server, *baselines, "--out", str(tmp_path / "served")]) == 0
    assert main(["eval", *baselines, "--out", str(tmp_path / "here")]) == 0
    for method in ("vanilla", "moe", "modplural"):
        served, here = (json.loads((tmp_path / where / method / "predictions.json").read_text()) for where in ("served", "here"))
        assert [p["pred_distribution"] for p in served] == [p["pred_distribution"] for p in here]


@pytest.fixture(scope="module")
def llama_url():
    with llama_server() as url:
        yield url


@pytest.mark.parametrize("mode", ["overton", "steerable", "distributional"])
def test_openai_backend_on_a_real_server(llama_url, capsys, mode):
    # Library personas: the moderators are under test here; generation through this server is tested above.
    argv = ["--model", "openai:smollm2", "--base-url", llama_url, "--no-cache", "--personas", "library", *SMALL]
    if mode == "overton":
        out = run_json(capsys, *argv, "A nurse is asked to hide a medication error.")
        assert out["result"]["response"].strip()
    elif mode == "steerable":
        out = run_json(capsys, *argv, "--mode", "steerable", "--target", "POLPARTY_Democrat", *QUESTION)
        assert out["result"]["selection"]["source"] == out["result"]["distribution"]["source"] == "logprobs"
    else:
        out = run_json(capsys, *argv, "--mode", "distributional", "--attribute", "Japan", *QUESTION)
        assert [r["source"] for r in out["result"]["per_persona"]] == ["logprobs"] * 3
        assert sum(out["result"]["distribution"]) == pytest.approx(1)
    assert out["fallbacks"]["uniform_distributions"] == 0
    # The budgets reach the server (llama.cpp ignores `max_completion_tokens`): 24 per comment.
    by_role = out["usage"]["by_role"]
    assert 0 < by_role["persona_agent"]["output_tokens"] <= len(out["comments"]) * 24


def test_raw_prompts_go_to_the_completions_endpoint_with_their_logprobs(llama_url, capsys):
    # The reference protocol's prompts are completion prompts: on an endpoint, /v1/completions.
    argv = ["--model", "openai:smollm2", "--base-url", llama_url, "--no-cache", "--personas", "library", *SMALL, "--protocol", "reference"]
    from ethos.agents.models import load_backend

    backend = load_backend("openai:smollm2", llama_url)
    paris = backend.option_distribution("The capital of France is", ["Paris", "London"], role="main_model")
    assert backend.is_raw("x") and paris.source == "logprobs" and paris.probs[0] > 0.9
    out = run_json(capsys, *argv, "--mode", "distributional", "--attribute", "Japan", *QUESTION)
    # llama-cpp-python's server sends no logprobs when the first token ends the reply (this model
    # often ends a raw "Answer:" at once): under the reference protocol those answers get the
    # reference's fixed stand-in, counted as such (this project's reading samples them instead).
    sources = [r["source"] for r in out["result"]["per_persona"]]
    fallbacks = out["fallbacks"]
    assert len(sources) == 3 and set(sources) <= {"logprobs", "reference_stand_in", "uniform_fallback"}
    assert fallbacks["stand_in_distributions"] + fallbacks["uniform_distributions"] == 3 - sources.count("logprobs")
    assert sum(out["result"]["distribution"]) == pytest.approx(1)
    out = run_json(capsys, *argv, "--mode", "steerable", "--target", "Right to know", *QUESTION)
    assert out["result"]["selection"]["source"] in ("generated", "random_fallback") and isinstance(out["result"]["answer"], str)


def test_the_openai_backend_streams_from_a_real_server(llama_url):
    from ethos.agents.models import load_backend

    chat = load_backend("openai:smollm2", llama_url).chat
    messages = [("user", "Should a nurse report a colleague's error? Answer in two sentences.")]
    chunks = [c.content for c in chat.stream(messages, max_tokens=24, temperature=0.0, seed=1)]
    assert len([c for c in chunks if c]) > 5  # server-sent events, piece by piece
    assert "".join(chunks) == chat.invoke(messages, max_tokens=24, temperature=0.0, seed=1).content
    probe = [c for c in chat.stream(messages, logprobs=True, top_logprobs=5, max_tokens=1) if c.content]
    assert len(probe) == 1 and probe[0].response_metadata["logprobs"]["content"][0]["top_logprobs"]


def test_personas_through_the_llama_cpp_servers_response_format(llama_url):
    from ethos.agents.models import load_backend
    from ethos.personas.format import persona_grammar, persona_json_schema
    from ethos.personas.generation import generate_personas
    from ethos.personas.seed_prompt import persona_messages

    backend = load_backend("openai:smollm2-schema", llama_url)
    assert backend.constraints == ("json_schema", "grammar", "json_object_schema")
    ask = dict(
        grammar=persona_grammar(2), json_schema=persona_json_schema(2), role="persona_generator", max_tokens=200, temperature=1.0, seed=0
    )
    messages = persona_messages("A nurse is asked to hide a medication error.", 2)
    text, note = backend.complete_constrained(messages, **ask)
    # The server refuses OpenAI's `json_schema` type and takes the GBNF grammar in its `grammar` field.
    assert note is None and backend.constraints == ("grammar", "json_object_schema")
    personas, report = generate_personas(lambda attempt: (text, note), n=2, attempts=1, library=[])
    assert report.rejected_lines == 0 and report.valid_lines == 2 and all(p.source == "constrained" for p in personas)
    # Its own JSON dialect is accepted too (llama.cpp's JSON-schema grammar is slow: a small budget).
    backend.constraints = ("json_object_schema",)
    text, note = backend.complete_constrained(messages, **{**ask, "max_tokens": 24})
    assert note is None and text.replace(" ", "").startswith('{"personas":[{"name":"')


def test_a_server_without_logprobs_is_sampled_and_flagged(capsys):
    with StubOpenAI(logprobs=False) as server:
        out = run_json(
            capsys,
            "--model",
            "openai:stub",
            "--base-url",
            server.url,
            "--n-personas",
            "2",
            "--samples",
            "5",
            "--no-cache",
            "--mode",
            "distributional",
            "q?",
            "--option",
            "a",
            "--option",
            "b",
        )
    rows = out["result"]["per_persona"]
    assert [r["source"] for r in rows] == ["sampling", "sampling"]
    assert out["fallbacks"]["sampled_distributions"] == 2
    assert all(r["probs"] == [0.0, 1.0] for r in rows)  # the stub always answers "B. ..."
    sampled = [r["body"] for r in server.requests if r["body"].get("temperature") == 1.0 and r["body"].get("max_tokens") == 4]
    choices = [b for b in sampled if "You speak for" in json.dumps(b["messages"])]  # one sampled option choice per comment
    answers = [b for b in sampled if b not in choices]
    assert len(choices) == 2 and all(c["choice_source"] == "sampling" for c in out["comments"])
    assert len(answers) == 2 * 5 and len({r["seed"] for r in answers}) == 10  # every sample of every comment its own seed


def test_5xx_answers_are_retried_with_backoff(capsys):
    with StubOpenAI(fail_first=2) as server:
        out = run_json(capsys, "--model", "openai:stub", "--base-url", server.url, "--n-personas", "2", "--no-cache", "x")
    assert out["result"]["response"] and len(server.requests) == 2 + out["usage"]["by_role"]["persona_generator"]["calls"] + 3


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("empty_choices", "a reply with no choices"),
        ("garbage", "a body that is not JSON"),
        ("no_message", "a reply without the expected fields"),
    ],
)
def test_malformed_replies_are_retried_then_reported_by_endpoint(capsys, kind, says):
    with StubOpenAI(malformed_first=1, malformed=kind) as server:
        out = run_json(
            capsys, "--model", "openai:stub", "--base-url", server.url, "--n-personas", "2", "--no-cache", "--max-retries", "1", "x"
        )
    assert out["result"]["response"]  # one malformed reply, then a good one: retried like a 5xx
    with StubOpenAI(malformed_first=10**6, malformed=kind) as server:
        assert main(["run", "--model", "openai:stub", "--base-url", server.url, "--no-cache", "--max-retries", "1", "x"]) == 1
        sent = len(server.requests)
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"ethos: error: the model endpoint at {server.url} returned {says}" in error and "(2 attempt(s))" in error
    assert sent == 2 and "Traceback" not in error


def test_the_rate_limit_is_shared_by_all_roles(capsys):
    with StubOpenAI() as server:
        run_json(capsys, "--model", "openai:stub", "--base-url", server.url, "--rps", "8", "--n-personas", "3", "--no-cache", "x")
        times = sorted(r["time"] for r in server.requests)
    # Arrival times jitter on a loaded machine (one late request shortens the next gap), so check spans:
    # any two requests apart are at least 2/8 s apart, and n requests span at least (n-1)/8 s.
    pairs = [c - a for a, c in zip(times, times[2:])]
    assert len(times) >= 5 and min(pairs) > 2 / 8 * 0.7  # the three parallel agents were spaced out too
    assert times[-1] - times[0] > (len(times) - 1) / 8 * 0.8


def test_a_request_past_the_timeout_is_retried_then_reported_in_one_line(capsys):
    with StubOpenAI(delay=1.0) as server:
        assert (
            main(["run", "--model", "openai:stub", "--base-url", server.url, "--timeout", "0.3", "--max-retries", "1", "--no-cache", "x"])
            == 1
        )
        requests = len(server.requests)
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("ethos: error: cannot reach the model endpoint") and "Timeout" in error
    assert requests == 2  # the first try and one retry
