"""Every registered plugin has a test module covering every outcome path.

Each plugin ``P`` has ``tests/unit/plugins/test_P.py`` with at least one test function per required
path; a function covers a path when its name is ``test_<path>`` or starts with ``test_<path>_``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from plugins import registry

HERE = Path(__file__).parent
FAST_PATHS = (
    "ok",
    "not_found",
    "auth_failed",
    "rate_limited_with_retry_after",
    "rate_limited_without_retry_after",
    "server_error",
    "transport_failure",
)
SANDBOX_PATHS = ("lifecycle", "sandbox_failure", "sandbox_timeout")
# Local analysers have no provider to fail: an answer, and the "nothing known" answer.
LOCAL_PATHS = ("ok", "not_found")


def _test_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


@pytest.mark.parametrize("plugin", sorted(registry.BY_NAME))
def test_plugin_has_tests_for_every_path(plugin: str) -> None:
    module = HERE / f"test_{plugin}.py"
    assert module.exists(), f"{plugin} has no test module {module.name}"
    names = _test_names(module)
    spec = registry.spec(plugin)
    required = FAST_PATHS + (SANDBOX_PATHS if spec.mode == "slow" else ()) if spec.remote else LOCAL_PATHS
    missing = [p for p in required if not any(n == f"test_{p}" or n.startswith(f"test_{p}_") for n in names)]
    assert not missing, f"{module.name} lacks tests for: {', '.join(missing)}"


def test_every_test_module_names_a_registered_plugin() -> None:
    modules = {p.stem[len("test_") :] for p in HERE.glob("test_*.py")} - {"catalog_coverage"}
    assert modules <= set(registry.BY_NAME), modules - set(registry.BY_NAME)
