"""Database plumbing: metadata and types, engines, sessions and migrations."""
