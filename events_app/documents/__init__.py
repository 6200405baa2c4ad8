"""Documents (issue 15): visa invitation letters, attendance certificates, badges, and their public verification."""
