"""OpenID Connect: the relying party that logs people in at the city's identity provider (``client.py``)."""
