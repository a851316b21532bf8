"""Authentication, principals, the one permission predicate, sessions and tokens."""
