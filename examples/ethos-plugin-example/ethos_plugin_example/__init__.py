"""An example EthosAgents plugin: one moderator, one persona-agent variant and a persona file."""

from pathlib import Path

from ethos.agents.models import Decoding
from ethos.agents.persona_agent import draft_comment
from ethos.agents.prompts import option_labels
from ethos.errors import EthosError


class MajorityModerator:
    """`--mode majority`: each persona's comment is one vote for the option it opened with."""

    def moderate(self, request, comments, backend, decoding, samples):
        options = request["options"]
        if not options:
            raise EthosError("the majority moderator needs answer options (--option)")
        labels = option_labels(len(options))
        votes = [c["choice"] for c in comments if c["choice"] in labels]
        counts = [votes.count(label) for label in labels]
        return {
            "options": options,
            "votes": dict(zip(labels, counts)),
            "abstained": len(comments) - len(votes),
            "winner": labels[counts.index(max(counts))] if votes else None,
        }


def brief_comment(backend, persona, *, situation, options, decoding, target=None, attribute=None):
    """`--agent-variant brief`: the default persona agent with at most 60 new tokens."""
    brief = Decoding(min(decoding.max_tokens, 60), decoding.temperature, decoding.seed)
    return draft_comment(backend, persona, situation=situation, options=options, decoding=brief, target=target, attribute=attribute)


def ethics_board():
    """The personas of a hospital ethics board, shipped as a TOML file beside this module."""
    return Path(__file__).parent / "ethics_board.toml"
