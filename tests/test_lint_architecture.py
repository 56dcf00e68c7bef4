"""The architecture lint (`make lint`): tools/lint_architecture.py catches what it is meant to
catch and says where the code should go, and the import-linter contracts in pyproject.toml break
on the imports they forbid. Both run on the shipped tree too, which must be clean."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lint_architecture", ROOT / "tools" / "lint_architecture.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["lint_architecture"] = module
    spec.loader.exec_module(module)
    return module


lint = _load_tool()
CONFIG = lint.Config()


def check(source: str, path: str) -> list[str]:
    return [str(v) for v in lint.check_source(textwrap.dedent(source), path, CONFIG)]


# --- SQL only in repositories and kit/sql ---------------------------------------------------------


def test_sql_text_in_a_service_says_which_repository() -> None:
    source = """
        async def top(db):
            return await db.execute("SELECT id FROM products ORDER BY sold_count DESC")
    """
    assert check(source, "catalog/products.py") == [
        "catalog/products.py:3: SQL text outside a repository: move this query to catalog/repository.py"
    ]


@pytest.mark.parametrize("keyword", ["INSERT INTO t VALUES (1)", "UPDATE t SET a = 1", "DELETE FROM t",
                                     "WITH x AS (SELECT 1) SELECT * FROM x", "  \n SELECT 1"])
def test_every_statement_keyword_is_sql(keyword: str) -> None:
    assert len(check(f"Q = {keyword!r}\n", "content/service.py")) == 1


def test_sql_is_allowed_in_repositories_and_kit_sql() -> None:
    source = 'Q = "SELECT 1"\nfrom sqlalchemy import select\nS = select(1)\n'
    assert check(source, "catalog/repository.py") == []
    assert check(source, "orders/repository/carts.py") == []
    assert check(source, "kit/sql/health.py") == []
    assert check(source, "demo_repository.py") == []


def test_sql_in_the_kit_goes_to_kit_sql_and_top_level_code_to_a_repository() -> None:
    assert check('Q = "SELECT 1"\n', "kit/outbox.py") == [
        "kit/outbox.py:1: SQL text outside a repository: move this query to kit/sql/ "
        "(the kit's database code lives behind that wall)"
    ]
    (message,) = check('Q = "DELETE FROM users"\n', "demo.py")
    assert message.startswith("demo.py:1: SQL text outside a repository: move this query to demo_repository.py")


def test_sqlalchemy_builders_are_queries_too() -> None:
    source = """
        import sqlalchemy as sa
        from sqlalchemy import delete, func, select as pick, text

        a = pick(1)
        b = sa.update(t)
        c = text("x")
        d = delete(t)
        e = func.count()
    """
    found = check(source, "promotions/service.py")
    assert [m.split(":")[1] for m in found] == ["5", "6", "7", "8"]
    assert found[0] == ("promotions/service.py:5: SQLAlchemy pick() outside a repository: "
                        "move it to promotions/repository.py")
    assert "sa.update()" in found[1]


def test_prose_docstrings_and_fstring_pieces_are_not_double_counted() -> None:
    source = '''
        """SELECT the right shop: this docstring is prose."""

        def f(table):
            """UPDATE: documented behaviour."""
            title = "Update your profile"
            return f"UPDATE {table} SET a = 1 WHERE id = {title}"
    '''
    assert check(source, "accounts/service.py") == [
        "accounts/service.py:7: SQL text outside a repository: move this query to accounts/repository.py"
    ]


# --- routes import no models ---------------------------------------------------------------------


@pytest.mark.parametrize("statement", [
    "from mercato.catalog.models import Product",
    "from mercato.catalog import models",
    "import mercato.accounts.models",
    "from mercato import models",
    "from .models import Shop",
])
def test_routes_importing_models_are_refused(statement: str) -> None:
    for route in ("catalog/api.py", "catalog/pages.py", "catalog/seller_pages.py"):
        (message,) = check(statement + "\n", route)
        assert "a route imports models" in message
        assert "call a service of the domain instead, and move the query to catalog/repository.py" in message


def test_routes_may_name_models_in_annotations_and_services_may_import_them() -> None:
    type_only = """
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from mercato.catalog.models import Product
    """
    assert check(type_only, "catalog/api.py") == []
    assert check("from mercato.catalog.models import Product\n", "catalog/products.py") == []


# --- imports inside functions --------------------------------------------------------------------


def test_an_import_inside_a_function_needs_a_reason() -> None:
    source = """
        def f():
            import json
            return json

        async def g():
            # lint: local-import (the stripe module imports this one)
            from mercato.payments import stripe
            from mercato.payments import sandbox  # lint: local-import (same reason)
            return stripe, sandbox

        def h():
            from mercato.payments import stripe  # lint: local-import
            return stripe
    """
    found = check(source, "payments/provider.py")
    assert found == [
        "payments/provider.py:3: import inside a function (json): move it to the top of the module, or say why "
        "it must stay with '# lint: local-import (reason)'",
        "payments/provider.py:13: import inside a function (mercato.payments): move it to the top of the module, "
        "or say why it must stay with '# lint: local-import (reason)'",
    ]


def test_module_level_and_type_checking_imports_are_fine() -> None:
    source = """
        import json
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from mercato.accounts.models import User

        class A:
            import os
    """
    assert check(source, "accounts/service.py") == []


# --- configuration, the command and the shipped tree ---------------------------------------------


def test_pyproject_configuration_and_every_module_is_checked(tmp_path: Path) -> None:
    # The temporary allowlist is gone: a key left behind in a configuration skips nothing.
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.lint-architecture]
        sql_allowed = ["*/repository.py"]
        temporary_allowlist = ["orders/*"]
    """))
    root = tmp_path / "mercato"
    for relative, body in {"orders/checkout.py": 'Q = "SELECT 1"\n', "catalog/browse.py": 'Q = "SELECT 1"\n',
                           "catalog/repository.py": 'Q = "SELECT 1"\n', "kit/sql/x.py": 'Q = "SELECT 1"\n'}.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(body)
    config = lint.Config.from_pyproject(tmp_path / "pyproject.toml")
    assert config.sql_allowed == ("*/repository.py",)
    report = lint.check_tree(root, config)
    # This configuration allows SQL in repositories only: kit/sql is not in its list.
    assert [(v.path, v.line) for v in report.violations] == [
        ("catalog/browse.py", 1), ("kit/sql/x.py", 1), ("orders/checkout.py", 1)]


def test_the_command_fails_with_the_place_and_passes_on_a_clean_tree(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    root = tmp_path / "mercato"
    (root / "feed").mkdir(parents=True)
    (root / "feed" / "pages.py").write_text('Q = "SELECT 1"\n')
    assert lint.main(["--root", str(root), "--pyproject", str(tmp_path / "pyproject.toml")]) == 1
    out = capsys.readouterr().out
    assert f"{root.as_posix()}/feed/pages.py:1: SQL text outside a repository: move this query to feed/repository.py" \
        in out
    assert "lint_architecture: 1 violation(s)" in out
    (root / "feed" / "pages.py").write_text("Q = 'nothing to see'\n")
    assert lint.main(["--root", str(root), "--pyproject", str(tmp_path / "pyproject.toml")]) == 0
    assert "lint_architecture: OK" in capsys.readouterr().out


def test_the_shipped_tree_is_clean() -> None:
    report = lint.check_tree(ROOT / "src" / "mercato", lint.Config.from_pyproject(ROOT / "pyproject.toml"))
    assert [str(v) for v in report.violations] == []


# --- import-linter contracts ---------------------------------------------------------------------


LAYERS = "Layers: config < kit < web < domains < app, cli, demo"
CYCLES = "No import cycles between the packages of mercato (domain level)"
ROUTES = "Routes (api, pages, seller_pages) import no models"
PAYMENTS = "Payments know nothing of what is sold (they talk to orders through payments/hooks.py)"
FEED = ("Accounts and content never import the feed (engagement reaches it through content/hooks.py, "
        "accounts/hooks.py)")
CATALOG = "The catalog does not know orders, payments, ledger or promotions"
ACCOUNTS = "Accounts are the lowest domain: they import no other domain"


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        cwd=tree, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("lint-tree")
    shutil.copytree(ROOT / "src" / "mercato", tree / "mercato",
                    ignore=shutil.ignore_patterns("__pycache__", "static", "templates"))
    return tree


def _with_line(tree: Path, relative: str, line: str) -> Path:
    target = tree / "mercato" / relative
    original = target.read_text()
    target.write_text(original + f"\n{line}\n")
    return target


def test_the_contracts_hold_on_the_shipped_tree(tree_copy: Path) -> None:
    result = _lint_imports(tree_copy)
    assert result.returncode == 0, result.stdout
    summary = " ".join(result.stdout.split())
    assert "Contracts: 7 kept, 0 broken." in summary
    for name in (LAYERS, CYCLES, ROUTES, PAYMENTS, FEED, CATALOG, ACCOUNTS):
        assert f"{name} KEPT" in summary


@pytest.mark.parametrize(("relative", "line", "broken"), [
    ("accounts/service.py", "from mercato.feed import signals as _signals", FEED),
    ("content/service.py", "from mercato.feed import signals as _signals", FEED),
    ("payments/service.py", "from mercato.orders import lifecycle as _lifecycle", PAYMENTS),
    ("kit/money.py", "from mercato.catalog import models as _models", LAYERS),
    ("web/render.py", "from mercato.accounts import deps as _deps", LAYERS),
    ("promotions/pages.py", "from mercato.promotions.models import Coupon as _Coupon", ROUTES),
    ("content/repository.py", "from mercato.feed import repository as _feed_repository", CYCLES),
    ("catalog/browse.py", "from mercato.orders import cart as _cart", CATALOG),
    ("accounts/repository.py", "from mercato.catalog import repository as _catalog_repository", ACCOUNTS),
])
def test_a_forbidden_import_breaks_its_contract(tree_copy: Path, relative: str, line: str, broken: str) -> None:
    target = tree_copy / "mercato" / relative
    original = target.read_text()
    try:
        _with_line(tree_copy, relative, line)
        result = _lint_imports(tree_copy)
    finally:
        target.write_text(original)
    assert result.returncode == 1
    summary = " ".join(result.stdout.split())  # rich wraps long contract names
    assert f"{broken} BROKEN" in summary
    assert summary.count(" BROKEN") >= 1
    kept = [name for name in (LAYERS, CYCLES, ROUTES, PAYMENTS, FEED, CATALOG, ACCOUNTS) if name != broken]
    assert all(f"{name} KEPT" in summary or f"{name} BROKEN" in summary for name in kept)
