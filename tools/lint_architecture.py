"""The architecture rules that import-linter cannot express, checked on the syntax tree.

``make lint`` runs it (``python tools/lint_architecture.py``) after the import-linter contracts.
Three rules, each failing with the place the code should go instead:

* **SQL lives in repositories.** SQL text (a string literal that starts with ``SELECT``,
  ``INSERT``, ``UPDATE``, ``DELETE``, ``WITH``, …) and SQLAlchemy statement builders
  (``select``/``insert``/``update``/``delete``/``text`` imported from ``sqlalchemy``) appear only
  in a domain's ``repository.py`` (or ``repository/`` package) and in ``kit/sql/``: a reader
  finds every query of a domain in one file, and the fast paths in one place.
* **Routes import no models.** ``api.py``, ``pages.py`` and ``seller_pages.py`` call services;
  a route that imports a ``models`` module has started doing a repository's work.
* **No imports inside functions** unless the line says why, with a
  ``# lint: local-import (reason)`` marker (on the import or the line above it): a hidden import
  is how a cycle between domains goes unnoticed.

The configuration is ``[tool.lint-architecture]`` in ``pyproject.toml``: where SQL may appear.
Every module of the package is checked.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

#: Statement keywords that open SQL text. Upper case only, so prose such as "Update your
#: profile" is not taken for a query.
SQL_START = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|REPLACE|UPSERT|MERGE|CREATE|DROP|ALTER|PRAGMA|VACUUM|"
    r"ANALYZE|TRUNCATE|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|LOCK)\b"
)
#: SQLAlchemy constructs that build a statement.
SQL_BUILDERS = frozenset({"select", "insert", "update", "delete", "text"})
SQLALCHEMY_MODULES = ("sqlalchemy",)
ROUTE_MODULES = frozenset({"api.py", "pages.py", "seller_pages.py"})
LOCAL_IMPORT_MARKER = re.compile(r"#\s*lint:\s*local-import\s*\(.+\)")


@dataclass(frozen=True)
class Config:
    """Paths are relative to the package root (``src/mercato``), matched with ``fnmatch``."""

    sql_allowed: tuple[str, ...] = ("*/repository.py", "*/repository/*", "*_repository.py", "kit/sql/*")

    @classmethod
    def from_pyproject(cls, path: Path) -> Config:
        data = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get("lint-architecture", {})
        return cls(sql_allowed=tuple(data.get("sql_allowed", cls.sql_allowed)))


@dataclass(frozen=True, order=True)
class Violation:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def _matches(relative: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(relative, pattern) for pattern in patterns)


def repository_for(relative: str) -> str:
    """Where a query found in ``relative`` should go."""
    parts = PurePosixPath(relative).parts
    if len(parts) == 1:  # app.py, cli.py, demo.py …: top-level wiring
        stem = PurePosixPath(relative).stem
        return (f"{stem}_repository.py beside it, or to the repository of the domain whose tables it touches "
                "(kit/sql/ for the database's own health)")
    if parts[0] == "kit":
        return "kit/sql/ (the kit's database code lives behind that wall)"
    return f"{parts[0]}/repository.py"


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                ids.add(id(first.value))
    return ids


def _sql_builder_names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """Names bound to SQLAlchemy statement builders, and names bound to SQLAlchemy modules."""
    builders: set[str] = set()
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in SQLALCHEMY_MODULES:
            for alias in node.names:
                if alias.name in SQL_BUILDERS:
                    builders.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in SQLALCHEMY_MODULES:
                    modules.add(alias.asname or alias.name.split(".")[0])
    return builders, modules


def _is_sql_string(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(SQL_START.match(node.value))
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        return isinstance(first, ast.Constant) and isinstance(first.value, str) and bool(SQL_START.match(first.value))
    return False


def _function_parents(tree: ast.AST) -> dict[int, bool]:
    """For every node: does it sit inside a function body?"""
    inside: dict[int, bool] = {}

    def visit(node: ast.AST, in_function: bool) -> None:
        inside[id(node)] = in_function
        nested = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, nested)

    visit(tree, False)
    return inside


def _imported_modules(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, base] if base else package)
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def check_source(source: str, relative: str, config: Config) -> list[Violation]:
    """Violations in one module, ``relative`` being its path under the package root."""
    tree = ast.parse(source, filename=relative)
    lines = source.splitlines()
    path = PurePosixPath(relative)
    module = ".".join(["mercato", *path.with_suffix("").parts])
    is_package = path.name == "__init__.py"
    if is_package:
        module = module.removesuffix(".__init__")
    violations: list[Violation] = []
    sql_allowed = _matches(relative, config.sql_allowed)
    docstrings = _docstring_nodes(tree)
    builders, sa_modules = _sql_builder_names(tree)
    in_function = _function_parents(tree)
    target = repository_for(relative)
    type_only = _type_checking_nodes(tree)
    fstring_parts = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}

    for node in ast.walk(tree):
        if not sql_allowed:
            if isinstance(node, ast.Constant | ast.JoinedStr) and _is_sql_string(node) \
                    and id(node) not in docstrings and id(node) not in fstring_parts:
                violations.append(Violation(relative, node.lineno,
                                            f"SQL text outside a repository: move this query to {target}"))
            elif isinstance(node, ast.Call):
                func = node.func
                name = None
                if isinstance(func, ast.Name) and func.id in builders:
                    name = func.id
                elif isinstance(func, ast.Attribute) and func.attr in SQL_BUILDERS \
                        and isinstance(func.value, ast.Name) and func.value.id in sa_modules:
                    name = f"{func.value.id}.{func.attr}"
                if name is not None:
                    violations.append(Violation(relative, node.lineno,
                                                f"SQLAlchemy {name}() outside a repository: move it to {target}"))
        if isinstance(node, ast.Import | ast.ImportFrom):
            imported = _imported_modules(node, module, is_package)
            if path.name in ROUTE_MODULES and id(node) not in type_only and any(
                    m.startswith("mercato.") and (m.endswith(".models") or ".models." in m) for m in imported):
                violations.append(Violation(
                    relative, node.lineno,
                    f"a route imports models ({imported[0]}): call a service of the domain instead, and move the "
                    f"query to {target}"))
            if in_function.get(id(node)) and not _has_marker(lines, node.lineno):
                violations.append(Violation(
                    relative, node.lineno,
                    f"import inside a function ({imported[0]}): move it to the top of the module, or say why "
                    "it must stay with '# lint: local-import (reason)'"))
    return violations


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Nodes under ``if TYPE_CHECKING:``: annotations only, nothing imported at run time."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and (
                (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
                or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")):
            for statement in node.body:
                ids.update(id(n) for n in ast.walk(statement))
    return ids


def _has_marker(lines: Sequence[str], lineno: int) -> bool:
    here = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
    above = lines[lineno - 2] if 1 < lineno <= len(lines) + 1 else ""
    return bool(LOCAL_IMPORT_MARKER.search(here) or LOCAL_IMPORT_MARKER.search(above))


def iter_modules(package_root: Path) -> Iterator[tuple[Path, str]]:
    for file in sorted(package_root.rglob("*.py")):
        yield file, file.relative_to(package_root).as_posix()


@dataclass
class Report:
    violations: list[Violation] = field(default_factory=list)


def check_tree(package_root: Path, config: Config) -> Report:
    report = Report()
    for file, relative in iter_modules(package_root):
        report.violations.extend(check_source(file.read_text(encoding="utf-8"), relative, config))
    report.violations.sort()
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("src/mercato"), help="package root")
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    args = parser.parse_args(argv)
    config = Config.from_pyproject(args.pyproject)
    report = check_tree(args.root, config)
    for violation in report.violations:
        print(f"{args.root.as_posix()}/{violation}")
    if report.violations:
        print(f"lint_architecture: {len(report.violations)} violation(s)")
        return 1
    print("lint_architecture: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
