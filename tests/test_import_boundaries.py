"""Which app may import which (docs/architecture.md): accounts never imports tickets (it
announces ended sessions with accounts/signals.py), and ticketsystem imports tickets only
where urls and asgi route to it. Read from the source with ast, so an import inside a
function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (``from x import y`` also yields ``x.y``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def files_importing(package: str, target: str) -> dict[str, set[str]]:
    """{file under ``package``: the ``target`` modules it imports}, for files that do."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        hits = {
            name
            for name in imported_modules(path)
            if name == target or name.startswith(target + ".")
        }
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    return found


def test_accounts_imports_nothing_from_tickets():
    assert files_importing("accounts", "tickets") == {}


def test_ticketsystem_imports_tickets_only_to_route_to_it():
    assert set(files_importing("ticketsystem", "tickets")) == {
        "ticketsystem/urls.py",
        "ticketsystem/asgi.py",
    }


def test_the_import_reader_sees_imports_inside_functions(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text("def f():\n    from tickets.live import publish\n    import tickets\n")
    assert imported_modules(source) == {"tickets.live", "tickets.live.publish", "tickets"}
