"""Exports of the record: offline-verifiable bundles (and, later, printable transcripts)."""
