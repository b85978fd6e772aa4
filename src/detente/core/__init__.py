"""The pure core: encoding, keys, entries, ledger, formats and delivery state machines. No I/O."""
