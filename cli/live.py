"""The live view of `ethos run` on a terminal: every agent that is writing, with its text as it is
decoded (LangGraph's `messages` stream mode). Finished comments are printed above it as before."""

from __future__ import annotations

import sys

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from ethos.redaction import raw

# Calls that only read option probabilities have nothing to show.
_SILENT = {"persona_agent_choice", "community_agent_choice"}


class LiveView:
    def __init__(self, total: int, console: Console | None = None, width: int = 90):
        self.total = total  # persona agents expected (the set may grow in hybrid runs)
        self.width = width
        self.rows: dict[tuple, dict] = {}  # (role, persona index) -> {"title", "text", "pieces"}
        self.live = Live(console=console or Console(file=raw(sys.stdout)), refresh_per_second=8, transient=True, redirect_stdout=True, redirect_stderr=True)

    def __enter__(self) -> "LiveView":
        self.live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.live.__exit__(*exc)

    def token(self, text: str, metadata: dict) -> None:
        role = metadata.get("ethos_role") or "model"
        if role in _SILENT or not text:
            return
        index = metadata.get("ethos_persona_index")
        key = (role, index)
        if key not in self.rows:
            title = f"[{index + 1}/{self.total}] {metadata.get('ethos_persona', '')}" if index is not None else role.replace("_", " ")
            self.rows[key] = {"title": title, "text": "", "pieces": 0}
        row = self.rows[key]
        row["text"] += text
        row["pieces"] += 1
        self.live.update(self.render(), refresh=False)

    def finished(self, update: dict) -> None:
        """Nodes finished (a LangGraph `updates` chunk): their rows leave the live view, and what
        they wrote is printed above it."""
        for node, values in update.items():
            if node in ("persona_agent", "community_agent") and isinstance(values, dict):
                for comment in values.get("comments") or []:
                    self.rows.pop((node, comment["index"]), None)
            else:  # the generator or a moderator: the rows of agents without a persona
                if node in ("seed_personas", "seed_communities", "route_expert") and isinstance(values, dict):
                    self.total = len(values.get("personas") or []) or self.total
                for key in [k for k in self.rows if k[1] is None]:
                    self.rows.pop(key)
        self.live.update(self.render(), refresh=False)

    def render(self) -> Group:
        lines = []
        for row in self.rows.values():
            tail = " ".join(row["text"].split())[-self.width:]
            line = Text(f"  {row['title']} ", style="bold")
            line.append(f"writing ({row['pieces']} pieces) ", style="dim")
            line.append(tail)
            lines.append(line)
        return Group(*lines)
