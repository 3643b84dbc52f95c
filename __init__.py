"""EthosAgents: role-driven pluralistic alignment for health care."""

__version__ = "0.1.0"
