"""The package's layout (issue 16): no import cycles, no private cross-module imports, no module
over 700 lines, nothing outside the edge importing it, as found by ``tools/check_imports.py``."""

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location("check_imports", ROOT / "tools" / "check_imports.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_imports", mod)  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def test_the_check_finds_cycles_private_imports_and_long_modules(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from pkg.a import f\n")
    (pkg / "a.py").write_text("from pkg.sub import b\n\ndef f():\n    return b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    # the cycle back to a is deferred into a function: still a cycle
    (pkg / "sub" / "b.py").write_text("def g():\n    from pkg.a import f\n    return f\n")
    (pkg / "c.py").write_text("from pkg.sub.b import _hidden\n" + "x = 1\n" * 20)
    (pkg / "d.py").write_text("from . import c\nfrom .sub import b\n")
    (pkg / "integrations").mkdir()
    (pkg / "integrations" / "__init__.py").write_text("")
    (pkg / "integrations" / "plots.py").write_text("from pkg.a import f\n")  # the edge may use the core
    (pkg / "__main__.py").write_text("def run():\n    import pkg.integrations.plots\n")
    r = _tool().check(pkg, max_lines=10)
    assert r.cycles == [["pkg.a", "pkg.sub.b"]]
    assert r.private_imports == ["pkg.c: from pkg.sub.b import _hidden"]
    assert r.long_modules == [("pkg.c", 21)]
    assert r.edge_imports == []
    assert not r.ok()
    (pkg / "sub" / "b.py").write_text("def g():\n    return 1\n")
    (pkg / "c.py").write_text("from pkg.sub.b import g\n")
    r = _tool().check(pkg, max_lines=10)
    assert r.ok(), r
    assert r.n_edges == 7  # pkg->a, a->sub.b, c->sub.b, d->c, d->sub.b, plots->a, __main__->plots
    (pkg / "d.py").write_text("def h():\n    from pkg.integrations import plots\n")  # the core may not
    assert _tool().check(pkg, max_lines=10).edge_imports == ["pkg.d -> pkg.integrations.plots"]


def test_the_package_has_no_cycles_no_private_imports_no_long_modules():
    r = _tool().check(ROOT / "coldstart")
    assert r.cycles == []
    assert r.private_imports == []
    assert r.long_modules == []
    assert r.edge_imports == []


def test_ruff_finds_nothing():
    """``ruff check`` with the project's rules (pyproject: pyflakes, pycodestyle's errors, import
    order) finds nothing in the package, the tests, the benchmarks or the tools."""
    import subprocess

    from ruff.__main__ import find_ruff_bin

    out = subprocess.run([find_ruff_bin(), "check", "--no-cache", "--output-format", "concise", str(ROOT)],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
