"""The link between nodes: TLS 1.3 with pinned certificates, length-prefixed frames."""
