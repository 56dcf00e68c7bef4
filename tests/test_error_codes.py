"""Every error code raised in ``src/`` is a member of a domain's ``StrEnum`` (``<domain>/errors.py``)
and is documented in docs/api.md, "Error codes"; clients rely on the strings."""

from __future__ import annotations

import ast
import importlib
import re
from enum import StrEnum
from pathlib import Path

import mercato.app  # noqa: F401  (imports every domain, so every AppError subclass is defined)
from mercato.kit.errors import AppError

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "mercato"


def _enums() -> dict[str, type[StrEnum]]:
    """Every ``StrEnum`` declared in an ``errors.py`` of the package, by class name."""
    found: dict[str, type[StrEnum]] = {}
    for path in sorted(PACKAGE.rglob("errors.py")):
        module = importlib.import_module(".".join(["mercato", *path.relative_to(PACKAGE).with_suffix("").parts]))
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum \
                    and value.__module__ == module.__name__:
                found[value.__name__] = value
    return found


ENUMS = _enums()


def _error_classes() -> set[str]:
    """Names of every ``AppError`` subclass (the app imports every domain)."""
    names: set[str] = set()
    todo: list[type] = [AppError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo += cls.__subclasses__()
    return names


ERROR_CLASSES = _error_classes()


def _raised_codes() -> tuple[list[tuple[str, int, str]], list[tuple[str, int, str, str]]]:
    """(literals, enum references): ``code="…"`` keyword arguments and ``code = "…"`` class
    attributes, and ``code=SomeError.MEMBER`` / ``code = SomeError.MEMBER``."""
    literals: list[tuple[str, int, str]] = []
    members: list[tuple[str, int, str, str]] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        values: list[ast.expr] = []
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                # An error's constructor, or a function passing the code on (``read_capped``); not a
                # model's constructor (``Coupon(code="WELCOME10")``).
                callee = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                if callee in ERROR_CLASSES or not callee[:1].isupper():
                    values += [kw.value for kw in node.keywords if kw.arg == "code"]
            elif isinstance(node, ast.ClassDef) and node.name in ERROR_CLASSES:
                values += [s.value for s in node.body if isinstance(s, ast.Assign) and len(s.targets) == 1
                           and isinstance(s.targets[0], ast.Name) and s.targets[0].id == "code"]
        for value in values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                literals.append((relative, value.lineno, value.value))
            elif isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) \
                    and value.value.id.endswith("Error"):
                members.append((relative, value.lineno, value.value.id, value.attr))
    return literals, members


def _documented(text: str | None = None) -> set[str]:
    text = (ROOT / "docs" / "api.md").read_text() if text is None else text
    section = text.split("\n## Error codes\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", section, re.MULTILINE))


def test_the_domains_declare_their_codes() -> None:
    for name in ("AccountsError", "CatalogError", "ContentError", "FeedError", "PaymentsError", "PromotionsError",
                 "WebError"):
        assert name in ENUMS
    assert ENUMS["CatalogError"].SKU_TAKEN == "sku_taken"
    assert ENUMS["PaymentsError"].CARD_DECLINED == "card_declined"
    assert ENUMS["AccountsError"]("email_taken") is ENUMS["AccountsError"].EMAIL_TAKEN


def test_no_code_is_a_bare_string() -> None:
    literals, _ = _raised_codes()
    assert literals == [], "use the domain's errors.py enum instead of a string literal"


def test_every_raised_code_is_a_member_of_its_enum() -> None:
    _, members = _raised_codes()
    assert len(members) > 100
    unknown = [(path, line, enum, member) for path, line, enum, member in members
               if enum not in ENUMS or member not in ENUMS[enum].__members__]
    assert unknown == []


def test_every_code_is_documented_in_api_md() -> None:
    documented = _documented()
    missing = sorted({f"{name}.{member.name} = {member.value!r}" for name, enum in ENUMS.items() for member in enum
                      if member.value not in documented})
    assert missing == []


def test_only_the_error_codes_tables_count_as_documentation() -> None:
    assert "email_taken" in _documented()
    page = ("# API\n\n## Conventions\n\n| `slug_taken` | 409 | mentioned elsewhere |\n\n## Error codes\n\n"
            "### catalog\n\n| code | status | meaning |\n|---|---|---|\n| `sku_taken` | 409 | … |\n\n## Later\n\n"
            "| `owner_only` | 403 | after the section |\n")
    assert _documented(page) == {"sku_taken"}
