"""Plugin loading and guarded hook calls.

Each entry point is loaded in its own try/except (a broken plugin never stops the host), and
``check_pending`` makes a misspelt hookimpl fail loudly at start-up. Hooks are called one
implementation at a time so that one plugin raising is logged and the others still run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any

import pluggy
from markupsafe import Markup

from . import hookspecs

log = logging.getLogger(__name__)


def make_plugin_manager(plugins: Iterable[Any] | None = None) -> pluggy.PluginManager:
    """A plugin manager with the host's hookspecs and either the given plugins or the entry points."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if plugins is None:
        for ep in entry_points(group=hookspecs.PROJECT):
            try:
                pm.register(ep.load(), name=ep.name)
            except Exception:
                log.exception("plugin %r could not be loaded; the host runs without it", ep.name)
    else:
        for plugin in plugins:
            pm.register(plugin)
    pm.check_pending()  # a hookimpl that matches no hookspec is a bug: refuse to start
    return pm


def call_hook(pm: pluggy.PluginManager, name: str, **kwargs: Any) -> list[Any]:
    """Call every implementation of hook ``name``, each guarded; return the non-None results.

    Results come in registration order (the first registered plugin first).
    """
    results = []
    for impl in getattr(pm.hook, name).get_hookimpls():
        try:
            result = impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        except Exception:
            log.exception("plugin %s failed in hook %s; ignored", impl.plugin_name, name)
            continue
        if result is not None:
            results.append(result)
    return results


def collect_links(pm: pluggy.PluginManager, name: str, **kwargs: Any) -> list[dict]:
    """Call a link hook and flatten the lists of link dicts, dropping malformed entries."""
    links = []
    for result in call_hook(pm, name, **kwargs):
        for link in result if isinstance(result, list | tuple) else [result]:
            if isinstance(link, dict) and link.get("href") and link.get("label"):
                links.append(link)
            else:
                log.warning("hook %s returned a malformed link %r; ignored", name, link)
    return links


def collect_html(pm: pluggy.PluginManager, name: str, **kwargs: Any) -> Markup:
    """Call an HTML slot hook and join the results; plain strings are escaped, Markup kept."""
    return Markup("\n").join(call_hook(pm, name, **kwargs))
