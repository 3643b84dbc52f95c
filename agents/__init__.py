"""Agent roles: the persona agent and the moderators, and the model backends they call."""
