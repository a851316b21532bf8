"""Cases (办件库): submission, acceptance, handling, conclusion, the event chain and search."""
