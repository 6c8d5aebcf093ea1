"""No ``for`` loop's target takes the name of a value its function set before the loop and reads after it: the loop
leaves its last item in that name, and the read after gets that item, not the value (a customer export once read the
last company's contacts where it meant the chunk's candidate companies, and created a duplicate beside a look-alike).

Ruff has no rule for this (PLW2901 is the other way round: a loop's target reassigned inside its body), so the source
is read here. A loop meant to leave its last (or found) item in a name set before it: give the loop its own name."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("colcw_plugin", "host_stub", "cw_sandbox")
_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _targets(node: ast.AST):
    if isinstance(node, ast.Name):
        yield node.id
    elif isinstance(node, ast.Tuple | ast.List):
        for e in node.elts:
            yield from _targets(e)
    elif isinstance(node, ast.Starred):
        yield from _targets(node.value)


def _scope(fn: ast.AST):
    """The nodes of a function's own scope: not those of nested functions or classes, and of a comprehension
    only its first iterable (evaluated in the function's scope)."""
    stack = list(ast.iter_child_nodes(fn))
    while stack:
        node = stack.pop()
        if isinstance(node, _NESTED):
            continue
        if isinstance(node, _COMPREHENSIONS):
            stack.append(node.generators[0].iter)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def clobbering_loops(source: str, filename: str = "<source>") -> list[str]:
    """``file:line: name`` for each loop whose target overwrites a value set before it and read after it."""
    out = []
    for fn in ast.walk(ast.parse(source, filename)):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        nodes = list(_scope(fn))
        args = {a.arg for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs)}
        stores = [(n.lineno, n.id) for n in nodes if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)]
        loads = [(n.lineno, n.id) for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
        for loop in (n for n in nodes if isinstance(n, ast.For | ast.AsyncFor)):
            end = loop.end_lineno or loop.lineno
            for name in set(_targets(loop.target)):
                if name not in args and not any(s == name and line < loop.lineno for line, s in stores):
                    continue
                after = [line for line, s in loads if s == name and line > end]
                if not after:
                    continue
                first = min(after)
                if any(s == name and end < line <= first for line, s in stores):
                    continue  # set again before it is read: the loop's last item is not what is read
                out.append(f"{filename}:{loop.lineno}: {name} (read after the loop at line {first})")
    return out


def test_the_check_finds_a_loop_overwriting_a_value_read_after_it():
    source = '''
def read(client, found):
    rows = client.candidates()
    for i, rows in client.contacts(found).items():
        print(i, rows)
    return {r["id"] for r in rows}
'''
    assert clobbering_loops(source) == ["<source>:4: rows (read after the loop at line 6)"]
    assert clobbering_loops(source.replace("for i, rows", "for i, people").replace("print(i, rows)", "print(i)")) == []


def test_no_loop_overwrites_a_value_its_function_reads_after_it():
    files = subprocess.run(["git", "ls-files", "--", *(f"{p}/*.py" for p in PACKAGES)], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()
    assert files
    found = [hit for f in files if "/migrations/versions/" not in f and (ROOT / f).exists()
             for hit in clobbering_loops((ROOT / f).read_text(encoding="utf-8"), f)]
    assert found == [], "\n".join(found)
