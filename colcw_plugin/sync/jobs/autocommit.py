"""An engine's autocommit copy, made once per engine in a process.

Statements that are each a transaction of their own (the run recorder's writes, the shared reference cache's reads
and writes) go through an autocommit copy of the host's engine, with no BEGIN and COMMIT round trips. Making that copy
(``Engine.execution_options``: its pool and events shared with the engine's) costs about 170 Python calls, and a run
makes its recorder and its reference cache anew: the copy is kept for as long as its engine lives.
"""

from __future__ import annotations

import weakref

from sqlalchemy.engine import Engine

_COPIES: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def autocommit_engine(engine: Engine) -> Engine:
    """``engine``'s autocommit copy (each statement committed as it runs), made the first time it is asked for."""
    direct = _COPIES.get(engine)
    if direct is None:
        direct = _COPIES.setdefault(engine, engine.execution_options(isolation_level="AUTOCOMMIT"))
    return direct
