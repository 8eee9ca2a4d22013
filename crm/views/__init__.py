"""Recruiter pages, one module per area."""
