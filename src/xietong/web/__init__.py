"""The HTTP edge: FastAPI app, problem+json errors, pages. Thin: parse, call a service, render."""
