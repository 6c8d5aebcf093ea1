"""The integration's setup services: reference lists, mappings, auto-map, pre-flight check,
customer matching, synced-item counts and reset. Plain functions over a session and a client;
the admin pages and the ``flask colcw`` commands are thin layers over them."""
