"""Instance-wide settings: the secret, calendar overrides, counters."""
