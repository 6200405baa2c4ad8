"""Domain-neutral building blocks (text policy, CSV cells, encryption) that every domain may use."""
