"""Plugin loading and guarded hook calls.

Each entry point is loaded in its own try/except (a broken plugin never stops the host), and
``check_pending`` makes a misspelt hookimpl fail loudly at start-up. Hooks are called through
pluggy (``pm.hook.<name>``), so its call order (``tryfirst``/``trylast``, then the last registered
first), ``firstresult`` and wrappers hold; every plain implementation is guarded when it is
registered, so one plugin raising is logged and the others still run.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
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
                register(pm, ep.load(), name=ep.name)
            except Exception:
                log.exception("plugin %r could not be loaded; the host runs without it", ep.name)
    else:
        for plugin in plugins:
            register(pm, plugin)
    pm.check_pending()  # a hookimpl that matches no hookspec is a bug: refuse to start
    return pm


def register(pm: pluggy.PluginManager, plugin: Any, name: str | None = None) -> None:
    """Register ``plugin`` with each of its plain hook implementations guarded (see the module doc)."""
    plugin_name = pm.register(plugin, name=name)
    for caller in pm.get_hookcallers(plugin) or []:
        for impl in caller.get_hookimpls():
            if impl.plugin is plugin and not (impl.hookwrapper or impl.wrapper):
                impl.function = _guarded(impl.function, plugin_name, caller.name)


def _guarded(function: Callable, plugin_name: str, hook: str) -> Callable:
    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception:
            log.exception("plugin %s failed in hook %s; ignored", plugin_name, hook)
            return None

    return guarded


def call_hook(pm: pluggy.PluginManager | None, name: str, **kwargs: Any) -> list[Any]:
    """Call hook ``name`` through pluggy and return its non-None results as a list (a ``firstresult``
    hook gives at most one). Implementations are guarded (see :func:`register`)."""
    if pm is None:
        return []
    result = getattr(pm.hook, name)(**kwargs)
    if getattr(pm.hook, name).spec.opts.get("firstresult"):
        return [] if result is None else [result]
    return [r for r in result if r is not None]


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


def collect_texts(pm: pluggy.PluginManager | None, name: str, **kwargs: Any) -> list[str]:
    """Call a hook answering plain-text messages (a list of ``str``) and flatten them, dropping empty and malformed
    entries (the host escapes them where it shows them)."""
    texts = []
    for result in call_hook(pm, name, **kwargs):
        for text in result if isinstance(result, list | tuple) else [result]:
            if isinstance(text, str) and text.strip():
                texts.append(text.strip())
            else:
                log.warning("hook %s returned a malformed message %r; ignored", name, text)
    return texts


def listens(pm: pluggy.PluginManager | None, name: str) -> bool:
    """Whether any plugin implements hook ``name`` (so the host can skip building its arguments)."""
    return pm is not None and bool(getattr(pm.hook, name).get_hookimpls())
