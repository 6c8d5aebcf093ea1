"""Query engine for the ConnectWise Manage sandbox: ``conditions``, ``childConditions``, ``orderBy``, ``fields``.

The engine is split by job: ``condition_parser`` (text to AST), ``predicates`` (what a comparison
matches), ``names`` (names and value types against the official schemas) and ``ordering``
(``orderBy`` and ``fields``). This module is the public face the rest of the sandbox imports.

Pure Python, no I/O. Everything that parses text raises :class:`QueryError` (a ``ValueError``) whose
``str()`` is fit for the ``message`` of a ConnectWise 400 error body.

Semantics, and where they come from (see shared/connectwise/API-NOTES.md §4, §10, §12):

* ConnectWise translates conditions to SQL Server queries that run under a **case-insensitive,
  accent-sensitive** collation. So ``name = "acme"`` matches ``"ACME"`` but ``"Montréal"`` does not
  match ``"Montreal"``. Callers that need exact case (opportunity names, identifiers they intend to
  compare byte for byte) must re-check the returned rows on the client side.
* Comparisons follow SQL's three-valued logic: a null (or missing) field never satisfies any
  operator except ``= null``. In particular ``name != "x"``, ``name not like "%x%"`` and
  ``id not in (1, 2)`` do **not** match rows whose field is null. UNVERIFIED against a live server
  (an Entity-Framework layer with C# null semantics would behave differently).
* ``like`` emulates SQL Server LIKE: ``%`` (and ``*``, which the Developer Guide says is accepted as
  a wildcard) match any run of characters, ``_`` matches one character, ``[abc]``/``[a-z]``/``[^a]``
  are character classes, so a literal ``[`` is written ``[[]`` (the Developer Guide's escaping rule).
  ``_`` and the bracket classes are inferred from that rule, not documented as such: UNVERIFIED.
* Escaping a quote inside a quoted value is undocumented (§12 question 1). We accept both quote
  styles and the backslash escapes ``\\"``, ``\\'`` and ``\\\\``; any other backslash sequence is
  rejected, so hand-written conditions do not silently diverge from what the client library sends.
* ``contains`` is ``like "%value%"``: the same LIKE wildcards and classes apply inside its value, so a
  search for ``50%_off`` matches "500 off" too unless the client writes ``50[%][_]off``. Inferred
  from the ``[[]`` rule (conditions read as SQL LIKE): UNVERIFIED.
* A string ``=``/``!=`` whose value holds ``*`` (the Developer Guide: strings "Accept * for
  wildcards") is ``like``/``not like`` of that value; without ``*`` it is SQL ``=``, where ``%``,
  ``_`` and ``[`` are literal. ``in`` lists are always SQL ``IN``. UNVERIFIED.
* The pseudo-field ``lastUpdated`` reads ``_info/lastUpdated`` (no ConnectWise model has a
  top-level ``lastUpdated``).
* Datetime values are compared as datetimes; naive datetimes (no ``Z``/offset) are taken as UTC,
  which is what django-connectwise relies on when it sends naive watermarks.
"""

from __future__ import annotations

from cw_sandbox.condition_parser import QueryError, resolve_path
from cw_sandbox.ordering import project_fields, sort_records
from cw_sandbox.predicates import compile_child_conditions, compile_conditions

__all__ = [
    "QueryError",
    "compile_child_conditions",
    "compile_conditions",
    "project_fields",
    "resolve_path",
    "sort_records",
]
