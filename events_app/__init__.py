"""Event manager for an international research programme."""
