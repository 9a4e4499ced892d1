"""Generic signed webhooks: any system POSTs JSON messages, signed with HMAC-SHA256."""
