"""Rapport: an open-source Social CRM.

Listen on every channel, understand each message, decide when to step in,
answer where the customer is, relate across identities, map the customers'
own network, keep the knowledge, and learn what it all means.
"""

__version__ = "0.1.0"
