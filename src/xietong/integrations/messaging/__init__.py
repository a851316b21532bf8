"""浙政钉 (DingTalk-style) messaging: work notices, to-do items and group robot messages for the people handling
cases, sent through the outbound outbox (``client.py`` speaks the open API, ``channel.py`` registers the channel,
``follower.py`` turns change-log events into messages, ``preferences.py`` says who wants them)."""
