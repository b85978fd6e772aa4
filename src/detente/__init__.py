"""detente: a verifiable hotline between adversaries."""
