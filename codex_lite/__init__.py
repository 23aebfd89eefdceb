"""codex-lite: a small coding agent for routers, phones and thin SSH boxes."""

__version__ = "0.1.0"
