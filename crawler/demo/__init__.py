"""The offline demo web served on loopback."""
