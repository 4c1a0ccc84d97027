"""The layering of docs/architecture.md: which app may import which, and how long a module
may grow. Read from the source with ast (no import runs), so a violation anywhere, even inside a
function, is found."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("accounts", "audit", "tickets", "ops", "ticketsystem")
MAX_LINES = 500

# (importing package, imported package): never allowed.
FORBIDDEN = {
    ("accounts", "tickets"),
    ("audit", "tickets"),
    ("audit", "accounts"),
    ("tickets", "ops"),
}


def production_modules() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.relative_to(ROOT).parts:
                yield path


def imported_modules(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute dotted name) of every import in a module, relative ones resolved."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    package = parts[:-1]  # a module's package; for an __init__.py, the package itself
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield node.lineno, module


def forbidden_imports() -> list[str]:
    found = []
    for path in production_modules():
        source = path.relative_to(ROOT).parts[0]
        for line, module in sorted(imported_modules(path)):
            target = module.split(".")[0]
            if (source, target) in FORBIDDEN:
                found.append(
                    f"{path.relative_to(ROOT)}:{line} imports {module} ({source} -> {target})"
                )
    return found


def long_modules() -> list[str]:
    found = []
    for path in production_modules():
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES:
            found.append(f"{path.relative_to(ROOT)}: {lines} lines")
    return found


def test_the_scan_sees_every_app_and_resolves_relative_imports():
    modules = list(production_modules())
    assert {path.relative_to(ROOT).parts[0] for path in modules} == set(PACKAGES)
    assert not any("migrations" in path.parts for path in modules)


def test_relative_imports_resolve_to_the_package_they_name(tmp_path, monkeypatch):
    package = tmp_path / "audit" / "sub"
    package.mkdir(parents=True)
    module = package / "mod.py"
    module.write_text(
        "from . import sibling\nfrom ..models import X\nimport tickets.models\n"
        "def f():\n    from ops.gpg import y\n"
    )
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert list(imported_modules(module)) == [
        (1, "audit.sub"),
        (2, "audit.models"),
        (3, "tickets.models"),
        (5, "ops.gpg"),
    ]


def test_no_app_imports_one_it_must_not():
    offenders = forbidden_imports()
    if offenders:
        pytest.fail("forbidden imports:\n" + "\n".join(offenders), pytrace=False)


def test_no_production_module_is_over_500_lines():
    offenders = long_modules()
    if offenders:
        pytest.fail(f"modules over {MAX_LINES} lines:\n" + "\n".join(offenders), pytrace=False)


def test_ticketsystem_imports_tickets_only_to_route_to_it():
    routing = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "ticketsystem").rglob("*.py")
        if any(name.split(".")[0] == "tickets" for _, name in imported_modules(path))
    }
    assert routing == {"ticketsystem/urls.py", "ticketsystem/asgi.py"}
