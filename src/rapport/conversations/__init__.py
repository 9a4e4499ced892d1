"""Conversations: messages with their raw payload, identities, our accounts,
threads, import batches, quarantine, and the importers per format."""
