"""Without Java the Spark tests skip, saying how to enable them (they do not fail)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_spark_tests_skip_without_java(tmp_path):
    pytest.importorskip("pyspark")
    pytest.importorskip("pyarrow")
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(tmp_path)  # no java on it
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-n", "0",
                          "tests/integrations/test_spark.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode in (0, 5), res.stdout[-2000:] + res.stderr[-2000:]  # 5: only skips
    assert "skipped" in res.stdout and "needs a Java runtime" in res.stdout
    assert "JAVA_HOME" in res.stdout and "failed" not in res.stdout
