"""Domain-neutral helpers: secrets, log redaction, response headers, rate-limit stores, outage detection."""
