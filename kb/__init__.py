"""kb: runbooks and postmortems for teams that run AI agents in production."""

__version__ = "0.1.0"
