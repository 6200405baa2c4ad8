"""E-mail: the outbox table, rendering, and the SMTP delivery worker."""
