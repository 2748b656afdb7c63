"""Layout check of the ``coldstart`` package: import cycles, private cross-module imports, long modules.

Parses every module under ``coldstart/`` with :mod:`ast` (nothing is imported or run) and
collects every ``import`` / ``from ... import`` that targets a ``coldstart`` module, including
the ones inside functions (a cycle deferred into a function body is still a cycle of the
design). From that graph it reports:

* import cycles: the strongly connected components of more than one module (Tarjan);
* private cross-module imports: ``from coldstart.x import _name`` in another module;
* modules longer than ``--max-lines`` lines (default 700);
* edge imports: a module outside the edge subpackages (``integrations``, ``cli``) importing
  one inside them (the package's ``__main__`` is the command line's entry point and may).

``python tools/check_imports.py`` prints the findings and exits 1 when there are any;
:func:`check` returns them for a test.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

MAX_LINES = 700
#: Subpackages at the edge: optional integrations and the command line; nothing else imports them.
EDGE = ("integrations", "cli")


@dataclass
class Report:
    """What :func:`check` found: cycles (lists of module names), private imports
    (``"importer: from target import _name"``), long modules (``(module, lines)``) and edge
    imports (``"importer -> target"``)."""

    cycles: list[list[str]] = field(default_factory=list)
    private_imports: list[str] = field(default_factory=list)
    long_modules: list[tuple[str, int]] = field(default_factory=list)
    edge_imports: list[str] = field(default_factory=list)
    n_modules: int = 0
    n_edges: int = 0

    def ok(self) -> bool:
        return not (self.cycles or self.private_imports or self.long_modules or self.edge_imports)


def module_names(package_dir: Path) -> dict[str, Path]:
    """Dotted module name → file, for every ``.py`` file under ``package_dir``."""
    root = package_dir.parent
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of dotted ``name`` that is a module of the package (None if none)."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        cand = ".".join(parts[:n])
        if cand in modules:
            return cand
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, str | None]]:
    """``(target module, imported name or None)`` for every import of ``module`` that lands in the
    package, at any depth of the syntax tree. ``from pkg import sub`` where ``sub`` is a module
    targets ``pkg.sub``; relative imports are resolved against ``module``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name, modules)
                if target is not None:
                    out.append((target, None))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = _resolve(f"{source}.{alias.name}", modules)
                if sub is not None and sub == f"{source}.{alias.name}":
                    out.append((sub, None))  # a submodule
                    continue
                target = _resolve(source, modules)
                if target is not None:
                    out.append((target, alias.name))
    return out


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of ``graph`` (node → successors), iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    comps: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, succ = work[-1]
            advanced = False
            for nxt in succ:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                comps.append(sorted(comp))
    return comps


def check(package_dir: str | Path = Path(__file__).resolve().parent.parent / "coldstart",
          max_lines: int = MAX_LINES) -> Report:
    """Build the import graph of the package under ``package_dir`` and report on it.

    The edges are the imports as written: ``from coldstart.core.model import X`` is an edge to
    ``coldstart.core.model`` (not to the parent packages Python also initialises), and a
    package ``__init__`` re-exporting its submodules has edges to them.
    """
    package_dir = Path(package_dir)
    modules = module_names(package_dir)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    report = Report(n_modules=len(modules))
    edge = tuple(f"{package_dir.name}.{e}" for e in EDGE)

    def at_edge(m: str) -> bool:
        return m == f"{package_dir.name}.__main__" or any(m == e or m.startswith(e + ".") for e in edge)

    for module, path in modules.items():
        for target, name in imports_of(module, path, modules):
            if target != module:
                graph[module].add(target)
            if at_edge(target) and not at_edge(module):
                report.edge_imports.append(f"{module} -> {target}")
            if name is not None and name.startswith("_") and not name.startswith("__") and target != module:
                report.private_imports.append(f"{module}: from {target} import {name}")
        n_lines = len(path.read_text().splitlines())
        if n_lines > max_lines:
            report.long_modules.append((module, n_lines))
    report.n_edges = sum(len(v) for v in graph.values())
    report.cycles = [c for c in strongly_connected(graph) if len(c) > 1]
    report.private_imports.sort()
    report.edge_imports = sorted(set(report.edge_imports))
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("package", nargs="?", default=str(Path(__file__).resolve().parent.parent / "coldstart"))
    p.add_argument("--max-lines", type=int, default=MAX_LINES)
    args = p.parse_args(argv)
    r = check(args.package, args.max_lines)
    print(f"{r.n_modules} modules, {r.n_edges} import edges inside the package")
    print(f"import cycles: {len(r.cycles)}")
    for c in r.cycles:
        print("  " + " <-> ".join(c))
    print(f"private cross-module imports: {len(r.private_imports)}")
    for line in r.private_imports:
        print("  " + line)
    print(f"modules over {args.max_lines} lines: {len(r.long_modules)}")
    for m, n in r.long_modules:
        print(f"  {m}: {n}")
    print(f"imports of the edge ({', '.join(EDGE)}) from outside it: {len(r.edge_imports)}")
    for line in r.edge_imports:
        print("  " + line)
    return 0 if r.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
