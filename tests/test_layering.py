"""Module boundaries, read from the source with ast: every import form, at any depth, counts."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, cli_env

RAG = ROOT / "rag"

# Each rag module and the rag modules it may import. Lower layers never import higher ones:
# models/config/errors -> loaders (and captions and rows, imported only inside that layer) -> chunking
# -> embeddings, store, keyword -> naming, rerank -> retrieval -> prompts, citations -> answer
# -> indexing, pipeline, evaluation, cli
BASE = {"models", "config", "errors"}
LAYERS: list[set[str]] = [
    BASE,
    {"loaders", "captions", "rows"},
    {"chunking"},
    {"embeddings", "store", "keyword"},
    {"naming", "rerank"},
    {"retrieval"},
    {"prompts", "citations"},
    {"answer"},
    {"indexing", "pipeline", "evaluation", "cli"},
]
SAME_LAYER = {  # the few imports allowed inside one layer
    "config": {"errors"},  # load_settings raises ConfigError
    "loaders": {"captions", "rows"},  # neither imports loaders: captions parses, rows validates
    "rows": {"captions"},  # clean and show; captions never imports rows
    "pipeline": {"indexing"},
    "cli": {"pipeline", "evaluation", "indexing"},
}
FACADES = {"__init__", "__main__"}  # the public API re-exports; `python -m rag` runs the CLI


def allowed(module: str) -> set[str]:
    for depth, layer in enumerate(LAYERS):
        if module in layer:
            below = set().union(*LAYERS[:depth]) if depth else set()
            return below | SAME_LAYER.get(module, set())
    raise AssertionError(f"rag/{module}.py is not in the layering table: add it to LAYERS")


def imports(path: Path, package: str | None = None) -> set[str]:
    """Every module `path` imports: absolute, relative (resolved against `package`), inside functions too."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                assert package, f"{path}: relative import outside a package"
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{alias.name}" for alias in node.names)  # `from . import indexing`
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def top(name: str) -> str:
    return name.split(".")[0]


def rag_modules() -> dict[str, Path]:
    return {p.stem: p for p in sorted(RAG.glob("*.py"))}


def test_imports_are_parsed_in_every_form(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text(
        "import chromadb\nimport os.path as p\nfrom openai import OpenAI\nfrom . import indexing\n"
        "from .store import Store\nfrom .. import x\n"
        "def f():\n    import llama_index.core\n    __import__('gradio')\n"
        "    importlib.import_module('onnxruntime')\n"
    )
    got = {top(m) for m in imports(sample, "rag.sub")}
    assert {"chromadb", "os", "openai", "llama_index", "gradio", "onnxruntime", "rag"} <= got
    assert {"rag.sub.indexing", "rag.sub.store", "rag.x"} <= imports(sample, "rag.sub")


@pytest.mark.parametrize("module", sorted(set(rag_modules()) - FACADES))
def test_rag_modules_import_downwards(module: str) -> None:
    inside = {
        name.split(".")[1]
        for name in imports(rag_modules()[module], "rag")
        if name.startswith("rag.") and name.split(".")[1] in rag_modules()
    }
    inside.discard(module)
    assert inside <= allowed(module), f"rag/{module}.py imports {sorted(inside - allowed(module))}"


def test_every_rag_module_is_in_the_table() -> None:
    for module in set(rag_modules()) - FACADES:
        allowed(module)


@pytest.mark.parametrize(
    "package, owners",
    [
        ("chromadb", {"store"}),
        ("openai", {"answer", "embeddings"}),
        ("llama_index", {"answer", "embeddings"}),
    ],
)
def test_third_party_clients_stay_in_their_module(package: str, owners: set[str]) -> None:
    users = {m for m, p in rag_modules().items() if package in {top(i) for i in imports(p, "rag")}}
    assert users <= owners, f"{package} imported by rag/{sorted(users - owners)}"


def edge_files() -> list[Path]:
    return [ROOT / "ingest.py", *sorted((ROOT / "ui").rglob("*.py"))]


@pytest.mark.parametrize("path", edge_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_edges_use_only_the_public_api(path: Path) -> None:
    package = "ui" if path.is_relative_to(ROOT / "ui") else None
    found = imports(path, package)
    used = {top(i) for i in found}
    assert not used & {"chromadb", "openai", "llama_index"}, f"{path.name} imports {used}"
    import rag

    private = {i for i in found if i.startswith("rag.") and i.split(".")[1] not in rag.__all__}
    assert not private, f"{path.name} reaches past rag's public API: {sorted(private)}"


def test_importing_rag_stays_light(tmp_path: Path) -> None:
    heavy = ["chromadb", "onnxruntime", "gradio", "openai", "llama_index"]
    code = f"import sys, rag; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    ran = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=cli_env(tmp_path / "store"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "", f"`import rag` loads {ran.stdout.strip()}"
