"""Token streaming: persona comments and the Overton answer arrive piece by piece in LangGraph's
`messages` mode, each piece labelled with the persona agent that wrote it."""

from collections import defaultdict

from ethos.graph.builder import graph
from ethos.graph.context import Context

REQUEST = {"situation": "Should the nurse tell the patient?", "mode": "overton", "options": ["Yes", "No"]}


def test_comments_stream_piece_by_piece_labelled_by_persona_and_end_as_without_streaming(fake):
    backend = fake()
    ctx = Context(generator_model=backend.spec, agent_model=backend.spec, moderator_model=backend.spec, n_personas=3)
    pieces, final = defaultdict(list), None
    for mode, data in graph.stream(REQUEST, context=ctx, stream_mode=["messages", "values"]):
        if mode == "messages":
            chunk, metadata = data
            pieces[(metadata["ethos_role"], metadata.get("ethos_persona_index"), metadata.get("ethos_persona"))].append(chunk.content)
        else:
            final = data
    agents = {key: "".join(parts) for key, parts in pieces.items() if key[0] == "persona_agent"}
    assert sorted((i, name) for _, i, name in agents) == [(i, p["name"]) for i, p in enumerate(final["personas"])]
    assert agents and all(len(pieces[key]) > 5 for key in agents)  # word by word, not one block
    for (_, index, _), text in agents.items():
        comment = final["comments"][[c["index"] for c in final["comments"]].index(index)]
        assert comment["text"].split(". ", 1)[1] in text  # the streamed reply is the comment (before its opener is cut)
    assert "".join(pieces[("overton_moderator", None, None)]) == final["result"]["response"]
    assert len(pieces[("persona_generator", None, None)]) > 5  # the personas appear as they are written
    unstreamed = graph.invoke(REQUEST, context=ctx)
    assert unstreamed["comments"] == final["comments"] and unstreamed["result"] == final["result"]


def test_the_live_view_shows_each_writing_agent_and_drops_it_when_done():
    import io

    from rich.console import Console

    from ethos.cli.live import LiveView

    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    view = LiveView(total=2, console=console)
    with view:
        view.token("#The Nurse: dignity;", {"ethos_role": "persona_generator"})
        view.token("A", {"ethos_role": "persona_agent_choice", "ethos_persona_index": 0})  # option probabilities: not shown
        for word in ("We", " must", " tell", " her."):
            view.token(word, {"ethos_role": "persona_agent", "ethos_persona_index": 1, "ethos_persona": "The Nurse"})
        head, *rows = [line.plain for line in view.render().renderables]
        assert head.startswith("  0 s · persona agents 0 of 2 done · 2 writing, 5 tokens so far")
        assert [r.split(" tok/s ")[0].rsplit(", ", 1)[0] for r in rows] == [
            "  persona generator writing: 1 tokens",
            "  2. The Nurse writing: 4 tokens",
        ]
        assert rows[1].endswith(" tok/s We must tell her.")
        view.finished({"seed_personas": {"personas": [{}, {}, {}]}})  # the generator is done; the set has three
        assert [line.plain.split(":")[0] for line in view.render().renderables][1:] == ["  2. The Nurse writing"]
        view.finished({"persona_agent": {"comments": [{"index": 1}]}})
        assert [line.plain for line in view.render().renderables] == ["  0 s · persona agents 1 of 3 done"] and view.total == 3


def test_ethos_run_on_a_terminal_streams_into_the_live_view(fake, capsys, monkeypatch):
    import sys

    from ethos.cli import main
    from ethos.cli.live import LiveView

    seen = []
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setattr(LiveView, "token", lambda self, text, metadata: seen.append((metadata["ethos_role"], text)))
    assert main(["run", "--model", fake().spec, "--n-personas", "2", "Should the nurse tell?"]) == 0
    assert "Overton response:" in capsys.readouterr().out
    roles = {role for role, _ in seen}
    assert {"persona_generator", "persona_agent", "overton_moderator"} <= roles and len(seen) > 20


def test_the_live_counter_counts_every_comment_of_a_real_run(fake):
    import io

    from rich.console import Console

    from ethos.cli.live import LiveView
    from ethos.graph.builder import graph
    from ethos.graph.context import Context

    view = LiveView(total=3, console=Console(file=io.StringIO(), force_terminal=True, width=120))
    for mode, chunk in graph.stream({"situation": "q?", "mode": "overton"}, context=Context(model=fake().spec, n_personas=3),
                                    stream_mode=["updates", "values"]):  # fmt: skip
        if mode == "updates":
            view.finished(chunk)
    assert (view.done, view.total) == (3, 3)
    assert view.render().renderables[0].plain.startswith("  0 s · persona agents 3 of 3 done")
