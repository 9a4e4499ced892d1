"""Analysis: pure stages (language, sentiment, intent, urgency, topics,
custom intents) returning values with provenance, model loading, and the
one writer that stores their output."""
