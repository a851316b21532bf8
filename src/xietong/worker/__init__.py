"""Durable background work: timers and the transactional outbox, claimed by workers."""
