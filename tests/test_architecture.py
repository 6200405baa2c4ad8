"""The import graph of events_app, drawn from the source with `ast`: no cycle among modules, and domains
depend on each other only along the arrows docs/architecture.md draws.

Every import counts, wherever it is written: at module level and inside functions (an import hidden in a
function to dodge a cycle is still a cycle). Imports under ``if TYPE_CHECKING:`` never run, so they cannot
close an import cycle and are left out of the cycle check; they do count as arrows between domains.
Any domain may import another domain's ``models`` (the tables are one schema and foreign keys cross domains;
mapped classes name each other in relationships): those imports are not arrows. Everything else of a sibling
(services, access, schemas, build, links...) only along ALLOWED_DOMAIN_ARROWS.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PACKAGE = "events_app"
PACKAGE_DIR = Path(__file__).resolve().parent.parent / PACKAGE

DOMAINS = {"accounts", "calendar", "calls", "documents", "events", "notify", "registration", "schedule",
           "speakers"}

# Who may import whom among the domains (importer -> imported). docs/architecture.md draws this list; anything
# else a domain needs from another it learns through the bus (events_app/core/bus.py).
ALLOWED_DOMAIN_ARROWS = {
    ("calendar", "speakers"),  # feeds show only speakers who agreed to be public (speakers.access)
    ("documents", "events"),  # letters and certificates are about an event, checked by its access rule
    ("documents", "notify"),  # letters and certificates go out through the outbox
    ("documents", "registration"),  # requests from a registration's private link; check-in codes on badges
    ("documents", "speakers"),  # requests from a speaker's invitation link
    ("calls", "events"),  # a call belongs to an event; its managers run it
    ("calls", "notify"),  # private links, invitations to review and decisions go through the outbox
    ("calls", "registration"),  # an accepted application takes a seat through the registration service
    ("calls", "schedule"),  # an accepted abstract becomes an unscheduled talk; uploads are checked as materials
    ("calls", "speakers"),  # authors and reviewers are the shared person records; speakers get their link
    ("events", "accounts"),
    ("registration", "calendar"),  # invitations and personal feeds are built by calendar
    ("registration", "events"),
    ("registration", "notify"),
    ("schedule", "events"),
    ("schedule", "speakers"),  # talks have speakers: choosing them, showing them
    ("speakers", "events"),
    ("speakers", "notify"),
}

# Modules that may import any domain: the composition root and the entry points that assemble the app.
COMPOSITION = {"app", "api", "cli", "demo", "devserver", "models", "wiring"}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    type_checking: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def _is_type_checking_test(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports_in(tree: ast.AST, under_type_checking: bool = False):
    """Every Import/ImportFrom node anywhere in the tree, with whether it sits under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, under_type_checking
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            # importlib.import_module("events_app.x"): an import by another name.
            yield ast.Import(names=[ast.alias(name=node.args[0].value)], lineno=node.lineno), under_type_checking
            yield from _imports_in(node, under_type_checking)
        elif isinstance(node, ast.If) and _is_type_checking_test(node.test):
            for child in node.body:
                yield from _imports_in(ast.Module(body=[child], type_ignores=[]), True)
            for child in node.orelse:
                yield from _imports_in(ast.Module(body=[child], type_ignores=[]), under_type_checking)
        else:
            yield from _imports_in(node, under_type_checking)


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


# The source does not change during a run: each file is parsed once per session, not once per test.
@cache
def internal_imports() -> tuple[Import, ...]:
    modules = all_modules()
    found: list[Import] = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, type_checking in _imports_in(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = _resolve(name, path.name == "__init__.py", node)
                for alias in node.names:
                    # `from events_app.core import timefmt` imports the module events_app.core.timefmt.
                    submodule = f"{base}.{alias.name}"
                    targets.append(submodule if submodule in modules else base)
            for target in targets:
                if target == PACKAGE or target.startswith(PACKAGE + "."):
                    while target not in modules and "." in target:
                        target = target.rsplit(".", 1)[0]
                    if target != name:
                        found.append(Import(name, target, node.lineno, type_checking))
    return tuple(found)


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as [a, b, ..., a], or None (iterative depth-first search)."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(edges, WHITE)
    for start in sorted(edges):
        if colour[start] != WHITE:
            continue
        stack = [(start, iter(sorted(edges[start])))]
        path = [start]
        colour[start] = GREY
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                colour[node] = BLACK
                continue
            if colour.get(child, WHITE) == GREY:
                return path[path.index(child):] + [child]
            if colour.get(child, WHITE) == WHITE:
                colour[child] = GREY
                path.append(child)
                stack.append((child, iter(sorted(edges.get(child, ())))))
    return None


def runtime_graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in all_modules()}
    for imp in internal_imports():
        if not imp.type_checking:
            edges[imp.importer].add(imp.imported)
    return edges


def domain_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in DOMAINS else None


def top_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def all_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), for the failure message."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for child in edges.get(node, ()):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return components


def test_the_module_graph_has_no_cycle():
    edges = runtime_graph()
    cycle = find_cycle(edges)
    assert cycle is None, (
        "import cycle: " + " -> ".join(cycle) + "\nall tangles: "
        + "; ".join(", ".join(c) for c in all_cycles(edges))
    )


def test_domains_import_each_other_only_in_the_documented_directions():
    wrong = []
    for imp in internal_imports():
        source, target = domain_of(imp.importer), domain_of(imp.imported)
        if source is None or target is None or source == target:
            continue
        if imp.imported.endswith(".models"):
            continue
        if (source, target) not in ALLOWED_DOMAIN_ARROWS:
            wrong.append(f"{imp.importer}:{imp.line} imports {imp.imported} ({source} -> {target})")
    assert not wrong, "arrows not in docs/architecture.md:\n" + "\n".join(sorted(wrong))


def test_core_and_db_know_no_domain_and_no_web():
    wrong = []
    for imp in internal_imports():
        top = top_of(imp.importer)
        if top not in {"core", "db", "settings"}:
            continue
        if domain_of(imp.imported) or top_of(imp.imported) in {"web"} | COMPOSITION:
            wrong.append(f"{imp.importer}:{imp.line} imports {imp.imported}")
    assert not wrong, "\n".join(wrong)


def test_web_knows_only_the_accounts_domain():
    """HTTP plumbing may ask accounts who is signed in; nothing else of a domain."""
    wrong = [
        f"{imp.importer}:{imp.line} imports {imp.imported}"
        for imp in internal_imports()
        if top_of(imp.importer) == "web" and domain_of(imp.imported) not in {None, "accounts"}
    ]
    assert not wrong, "\n".join(wrong)


HANDLER_DECORATORS = {"get", "post", "put", "patch", "delete", "route", "websocket", "head"}


@cache
def defines_routes(path: Path) -> bool:
    """A controller module: it defines a Litestar Controller or a route handler."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ClassDef) and any(
            getattr(base, "id", getattr(base, "attr", None)) == "Controller" for base in node.bases
        ):
            return True
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if getattr(target, "id", getattr(target, "attr", None)) in HANDLER_DECORATORS:
                    return True
    return False


def test_no_domain_imports_another_domains_controllers():
    """STYLE.md: a domain imports a sibling's services, never its controllers (pages, API, feeds' routes)."""
    modules = all_modules()
    wrong = [
        f"{imp.importer}:{imp.line} imports {imp.imported}"
        for imp in internal_imports()
        if domain_of(imp.importer) and domain_of(imp.imported)
        and domain_of(imp.importer) != domain_of(imp.imported)
        and defines_routes(modules[imp.imported])
    ]
    assert not wrong, "\n".join(sorted(wrong))


def test_no_pair_of_domains_points_both_ways():
    """Two domains that need each other answer through a signal one way (docs/architecture.md)."""
    two_way = {frozenset(pair) for pair in ALLOWED_DOMAIN_ARROWS if tuple(reversed(pair)) in ALLOWED_DOMAIN_ARROWS}
    assert not two_way, "both ways: " + ", ".join(" <-> ".join(sorted(pair)) for pair in two_way)


def test_the_architecture_page_lists_the_same_arrows():
    page = (PACKAGE_DIR.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [f"{a} --> {b}" for a, b in sorted(ALLOWED_DOMAIN_ARROWS) if f"{a} --> {b}" not in page]
    assert not missing, "docs/architecture.md does not draw: " + ", ".join(missing)


def test_the_checker_sees_imports_inside_functions_and_finds_a_cycle():
    tree = ast.parse("def f():\n    from events_app.events import services\nif TYPE_CHECKING:\n    import x\n"
                     "importlib.import_module('events_app.registration.mail')\n")
    found = [(type(node).__name__, tc) for node, tc in _imports_in(tree)]
    assert found == [("ImportFrom", False), ("Import", True), ("Import", False)]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_every_signal_and_periodic_job_is_on_the_architecture_page():
    """A new signal or job is documented where people look for who reacts to what."""
    from events_app.core.bus import Signal
    from events_app.core.periodic import registered_jobs
    from events_app.wiring import wire

    page = (PACKAGE_DIR.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    signals = []
    for name in all_modules():
        if name.endswith(".signals"):
            module = __import__(name, fromlist=["_"])
            signals += [f"{name.removeprefix(PACKAGE + '.')}.{attr}" for attr, value in vars(module).items()
                        if isinstance(value, Signal)]
    assert signals, "no signals found"
    wire()
    jobs = [f'"{job.name}"' for job in registered_jobs()]
    missing = [item for item in signals + jobs if item not in page]
    assert not missing, "docs/architecture.md does not mention: " + ", ".join(missing)
