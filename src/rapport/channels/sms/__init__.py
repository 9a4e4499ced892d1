"""SMS in the Twilio format: signed inbound webhooks, the Messages REST API out."""
