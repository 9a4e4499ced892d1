"""Email: IMAP in (UID cursor, threading by Message-ID / References), SMTP out."""
