"""The HTTP side of a node: the API for the CLI and scripts, and the operator console."""
