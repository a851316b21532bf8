"""Integrations with outside systems (集成): messaging, single sign-on, e-seal, e-archive, the provincial
platform, the OA. None of them exists on this machine, so each is an adapter behind one small interface.

An integration lives in ``integrations/<name>/``:

- ``client.py`` — the real client, speaking the outside system's documented protocol over httpx;
- its triggers — usually a reader of the change log (``integrations/feed.py``) that turns events into
  outbound messages in the reader's transaction, so the hot path writes nothing more;
- its channel — registered with ``@channel(...)`` (``integrations/channels.py``): how one outbound message is
  sent and what its reply does back in the database.

Everything outbound goes through ``outbound_message`` (``integrations/outbound.py``), written in the caller's
transaction and sent by the worker outside any transaction, so handling a case never waits on an outside system.
Each outside system's local stand-in server lives in ``xietong.standins`` (it speaks the same protocol and
refuses what the real one would); the tests and ``serve --demo`` point the adapters at those.
"""
