"""The package's layers, from every import statement of every module (those inside functions too): `core`
imports nothing above it; a modality (`text`, `vision`, `tabular`) imports only `core` and itself; a task imports
`core`, the modalities and its own sub-package; the commands reach a task only through the registry
(`finetune_cookbook.tasks`); and no two modules import each other, however indirectly."""

import ast
from pathlib import Path

import pytest

import finetune_cookbook

PACKAGE = Path(finetune_cookbook.__file__).parent
NAME = "finetune_cookbook"
MODALITIES = ("text", "vision", "tabular")
LEGACY = f"{NAME}._moved"  # the old module names, resolved at run time: it imports no module of the package


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_package(module: str) -> bool:
    return (PACKAGE.parent / module.replace(".", "/") / "__init__.py").is_file()


def resolve(module: str, node: ast.ImportFrom) -> list[str]:
    """The package modules an `import` or `from ... import` names (a submodule where a name is one)."""
    if node.level:
        base = module.split(".") if is_package(module) else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if target != NAME and not target.startswith(NAME + "."):
        return []
    found = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        is_module = (PACKAGE.parent / (sub.replace(".", "/") + ".py")).is_file() or is_package(sub)
        found.append(sub if is_module else target)
    return found


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                edges.update(resolve(module, node))
            elif isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name == NAME or a.name.startswith(NAME + "."))
        graph[module] = edges - {module}
    return graph


def layer(module: str) -> tuple[str, str | None]:
    """(layer, which room of it): ("core", None), ("modality", "text"), ("task", "intent"), ("command", None)."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] == "core":
        return "core", None
    if len(parts) > 1 and parts[1] in MODALITIES:
        return "modality", parts[1]
    if len(parts) > 2 and parts[1] == "tasks":
        return "task", parts[2]
    if module == f"{NAME}.tasks":
        return "registry", None
    return "command", None


def violations(graph: dict[str, set[str]]) -> list[str]:
    """Each import that breaks the layers' rule, as "importer -> imported: why"."""
    found = []
    for module, imports in graph.items():
        kind, room = layer(module)
        for target in imports:
            if target == NAME:  # the package itself: its version, and the old names' hook
                continue
            to_kind, to_room = layer(target)
            allowed = {
                "core": to_kind == "core",
                "modality": to_kind == "core" or (to_kind == "modality" and to_room == room),
                "registry": to_kind == "core",
                "task": to_kind in ("core", "modality") or (to_kind == "task" and to_room == room),
                "command": to_kind in ("core", "registry", "command"),
            }[kind]
            if not allowed:
                found.append(f"{module} -> {target}: a {kind} may not import a {to_kind}"
                             + (f" ({to_room})" if to_room else ""))
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle found by a depth-first walk, each once."""
    found, state = [], {}

    def visit(module: str, stack: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                found.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def test_every_import_keeps_to_the_layers():
    graph = import_graph()
    assert len(graph) > 50  # the walk found the package
    assert violations(graph) == []


def test_no_import_circles():
    assert cycles(import_graph()) == []


def test_the_old_names_hook_imports_no_module_of_the_package():
    assert import_graph()[LEGACY] == set()


def test_the_rule_and_the_circle_finder_catch_what_they_are_for():
    bad = {f"{NAME}.core.data": {f"{NAME}.tasks.intent.bot"},
           f"{NAME}.text.card": {f"{NAME}.vision.images"},
           f"{NAME}.recipe": {f"{NAME}.tasks.segmentation.customers"},
           f"{NAME}.tasks.intent": {f"{NAME}.tasks.text_classification"},
           f"{NAME}.tasks": {f"{NAME}.tasks.intent"}}
    assert len(violations(bad)) == 5
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


@pytest.mark.parametrize("old, new, name", [
    ("plots", "text.plots", "text_lengths"), ("plots", "tasks.intent.plots", "answer_curve"),
    ("sentence_classifier", "text.sentence_classifier", "SentenceClassifier"),
    ("tabular", "tabular.columns", "source_rows"), ("rare_events", "core.metrics", "ranking_metrics"),
    ("modelcard", "tasks.image_classification.card", "image_model_card"), ("data", "core.io.readers", "read_table"),
    ("config", "tasks.anomaly_detection.config", "FraudConfig"),
])
def test_code_written_before_the_layout_still_imports(old, new, name):
    """The notebooks, scripts and model cards written against the flat package's module names."""
    import importlib

    assert getattr(importlib.import_module(f"{NAME}.{old}"), name) is getattr(importlib.import_module(f"{NAME}.{new}"),
                                                                             name)


def test_an_old_module_name_is_patched_where_the_name_lives():
    """`mock.patch("finetune_cookbook.training.torch_device")` in a test written before the layout patches the
    function the package calls, and puts it back."""
    from unittest import mock

    from finetune_cookbook.core import training

    original = training.torch_device
    with mock.patch(f"{NAME}.training.torch_device", lambda: "patched"):
        assert training.torch_device() == "patched"
    assert training.torch_device is original


def test_star_imports_of_old_names_give_their_names():
    namespace = {}
    exec(f"from {NAME}.plots import *\nfrom {NAME}.tabular import *\nfrom {NAME}.config import *", namespace)
    assert {"answer_curve", "class_balance", "text_lengths", "source_rows", "FraudConfig", "load_config"} <= set(namespace)


def test_renamed_and_computed_old_names():
    from finetune_cookbook.config import HEAD_TASKS, IMAGE_TRAINING_TASKS
    from finetune_cookbook.core.records import SHOWN_WITHOUT_HEADLINE
    from finetune_cookbook.records import HEADLINE_METRICS
    from finetune_cookbook.tasks.text_classification import predict_table, tokenize  # noqa: F401

    assert HEADLINE_METRICS == SHOWN_WITHOUT_HEADLINE
    assert set(HEAD_TASKS) == {"text_classification", "intent_classification", "image_classification"}
    assert IMAGE_TRAINING_TASKS == ("image_classification",)
