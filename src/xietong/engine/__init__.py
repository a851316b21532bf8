"""Workflow engine: compiled process definitions, node transitions, relational state, assignment."""
