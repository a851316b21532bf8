"""Matter library (事项库): base matters, local implementations, immutable versions, forms, processes."""
