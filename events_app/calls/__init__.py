"""Calls for abstracts and applications: submissions, reviews and the committee's decisions (issue 16)."""
