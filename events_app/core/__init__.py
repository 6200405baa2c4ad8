"""Domain-neutral building blocks every domain may use: text policy, CSV cells, encryption, secrets, log
redaction, response headers, rate-limit stores, outage detection."""
