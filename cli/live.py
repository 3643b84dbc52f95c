"""The live view of `ethos run` on a terminal: every agent that is writing, with its text as it is
decoded (LangGraph's `messages` stream mode). Finished comments are printed above it as before."""

from __future__ import annotations

import sys
import time

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from ethos.redaction import NeutralStream, outward, raw

# Calls that only read option probabilities have nothing to show.
_SILENT = {"persona_agent_choice", "community_agent_choice"}


class LiveView:
    def __init__(self, total: int, console: Console | None = None, width: int = 90):
        self.total = total  # persona agents expected (the set may grow in hybrid runs)
        self.width = width
        self.rows: dict[tuple, dict] = {}  # (role, persona index) -> {"title", "text", "tokens", "started"}
        self.done = 0  # persona agents finished
        self.started = time.monotonic()
        self.live = Live(
            console=console or Console(file=raw(sys.stdout)),
            get_renderable=self.render,
            refresh_per_second=8,
            transient=True,
            redirect_stdout=True,
            redirect_stderr=True,
        )

    def __enter__(self) -> LiveView:
        self.live.__enter__()
        # Rich puts its own proxies on stdout and stderr, which write to the raw terminal: what is
        # printed above the view (the persona list, each comment) passes the output boundary first.
        sys.stdout, sys.stderr = NeutralStream(sys.stdout), NeutralStream(sys.stderr)
        return self

    def __exit__(self, *exc) -> None:
        sys.stdout, sys.stderr = raw(sys.stdout), raw(sys.stderr)  # Rich restores the streams only from its own proxies
        self.live.__exit__(*exc)

    def token(self, text: str, metadata: dict) -> None:
        role = metadata.get("ethos_role") or "model"
        if role in _SILENT or not text:
            return
        text = outward(text)  # a model's text never drives the terminal (Rich's own stream is raw)
        index = metadata.get("ethos_persona_index")
        key = (role, index)
        if key not in self.rows:
            title = f"{index + 1}. {outward(metadata.get('ethos_persona', ''))}" if index is not None else role.replace("_", " ")
            self.rows[key] = {"title": title, "text": "", "tokens": 0, "started": time.monotonic()}
        row = self.rows[key]
        row["text"] += text
        row["tokens"] += 1  # a streamed chunk is one decoded token

    def finished(self, update: dict) -> None:
        """Nodes finished (a LangGraph `updates` chunk): their rows leave the live view, and what
        they wrote is printed above it."""
        for node, values in update.items():
            if node in ("persona_agent", "community_agent") and isinstance(values, dict):
                for comment in values.get("comments") or []:
                    self.rows.pop((node, comment["index"]), None)
                    self.done += 1
            else:  # the generator or a moderator: the rows of agents without a persona
                if node in ("seed_personas", "seed_communities", "route_expert") and isinstance(values, dict):
                    self.total = len(values.get("personas") or []) or self.total
                for key in [k for k in self.rows if k[1] is None]:
                    self.rows.pop(key)

    def render(self) -> Group:
        now = time.monotonic()
        tokens = sum(row["tokens"] for row in self.rows.values())
        head = Text(f"  {now - self.started:.0f} s · persona agents {self.done} of {self.total} done", style="dim")
        if self.rows:
            head.append(f" · {len(self.rows)} writing, {tokens} tokens so far", style="dim")
        lines = [head]
        for row in self.rows.values():
            rate = row["tokens"] / max(now - row["started"], 1e-3)
            tail = " ".join(row["text"].split())[-self.width :]
            line = Text(f"  {row['title']} ", style="bold")
            line.append(f"writing: {row['tokens']} tokens, {rate:.1f} tok/s ", style="dim")
            line.append(tail)
            lines.append(line)
        return Group(*lines)
