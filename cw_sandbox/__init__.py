"""A ConnectWise Manage REST API sandbox: a Flask app that behaves as ConnectWise is documented to.

Start one with ``cw-sandbox serve --port 8090 [--seed demo] [--db FILE]``, in tests with
``cw_sandbox.testing.SandboxServer`` or the fixtures in ``cw_sandbox.pytest_plugin``. README.md in
this folder has the table of behaviours, what ConnectWise does, the source and whether public
evidence shows it.

Choices where the public sources are silent (shared/connectwise/API-NOTES.md §12), made on
the strict side so client bugs show up here rather than in production (more in README.md):

* ``pageSize`` above 1000 is clamped to 1000 (Link headers say so); ``page``/``pageSize``
  below 1 or not integers are 400.
* A missing ``clientId`` header is 401 with the standard envelope (after a good Basic auth).
* Error codes inside ``errors[]``: ``NullValue`` (required), ``MaxLengthField`` (max length),
  ``NotFound`` with field ``<ref>/id`` (a reference to a missing record), ``ObjectExists``
  (duplicate identifier), ``InvalidObject`` (type, enum or cross-field problems).
* A contact needs ``firstName``; a company needs one address field and a ``state`` that is
  in the States list (Canadian provinces are absent until POSTed, as in a new tenant).
* ``GET /sales/opportunities/{id}/forecast`` answers the spec's array of one Forecast; the control
  API switches it to the single object (``POST /__sandbox__/options {"forecast_shape": "object"}``).
* DELETE of a company sets ``deletedFlag`` (ConnectWise keeps deleted companies visible);
  DELETE of a record still referenced elsewhere is 409.
* URLs over 2,048 characters are refused with 414; a tenant gets 1,000 requests a minute and 10 at
  once before 429 (settable).
"""
