"""Shipyard's modules outside the command line read nothing of the environment when imported.

Settings are read when a command or a server runs, not when a module is imported: a process
that imported a module earlier (a long-lived worker, the test suite's zygote, which forks every
end-to-end command from one process that imported them: tests/e2e/zygote.py) still honours the
environment it runs with. ``shipyard.cli`` is the exception the zygote leaves alone: its Rich
consoles read ``COLUMNS`` and ``NO_COLOR`` when created.
"""

from __future__ import annotations

import ast
from pathlib import Path

import shipyard

SOURCE = Path(shipyard.__file__).parent
EXEMPT = ("cli", "examples", "__main__.py")
READS_THE_ENVIRONMENT = {"environ", "getenv", "environb", "home", "cwd", "getcwd", "Console"}


def _module_level(tree: ast.AST) -> list[ast.AST]:
    """Every node evaluated when the module is imported: not inside a function's body."""
    found, todo = [], [tree]
    while todo:
        node = todo.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                todo.extend([*child.decorator_list, *child.args.defaults,
                             *(d for d in child.args.kw_defaults if d is not None)])
            elif isinstance(child, ast.Lambda):
                todo.extend(child.args.defaults)
            else:
                found.append(child)
                todo.append(child)
    return found


def test_no_module_outside_the_cli_reads_the_environment_when_imported() -> None:
    readers = []
    for path in sorted(SOURCE.rglob("*.py")):
        relative = path.relative_to(SOURCE)
        if relative.parts[0] in EXEMPT:
            continue
        for node in _module_level(ast.parse(path.read_text(), str(path))):
            name = (node.attr if isinstance(node, ast.Attribute)
                    else node.id if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
                    else None)  # a field named ``environ`` is not a read
            if name in READS_THE_ENVIRONMENT:
                readers.append(f"{relative}:{node.lineno} {name}")
    assert not readers, readers


def test_the_check_sees_a_module_level_read_and_not_one_in_a_function() -> None:
    planted = ast.parse("import os\nA = os.environ.get('X')\ndef f(b=os.getenv('Y')):\n"
                        "    return os.environ['Z']\n")
    names = {n.attr for n in _module_level(planted) if isinstance(n, ast.Attribute)}
    assert names == {"environ", "get", "getenv"}
