"""Every ```python block of the README runs as written from the repository root."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_readme_has_python_blocks_and_two_line_quickstart():
    assert len(BLOCKS) >= 3
    sh = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    lines = [line for line in sh[0].splitlines() if line.strip()]
    assert len(lines) == 2 and "coldstart demo" in lines[0] and "pytest" in lines[1]


@pytest.mark.parametrize("i", [pytest.param(i, marks=pytest.mark.slow) if "citeulike" in block else i
                               for i, block in enumerate(BLOCKS)])  # slow: fits on the full catalog
def test_readme_python_block_runs(i, tmp_path):
    script = tmp_path / f"block{i}.py"
    script.write_text(BLOCKS[i])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
