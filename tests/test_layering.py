"""Data flows one way: a module imports only from its own tier or below (DESIGN.md)."""

from __future__ import annotations

import ast
import pathlib

import wengert

ROOT = pathlib.Path(wengert.__file__).parent

# Tier of each module (first dotted component under wengert); see DESIGN.md.
TIERS = {
    "backend": 0, "errors": 0,
    # tier 1: tensors, the tape, ops.  random returns Tensors, so it sits here too.
    "tensor": 1, "core": 1, "random": 1, "math_ops": 1, "array_ops": 1, "nn_ops": 1,
    "tape": 1, "tape_view": 1, "forward": 1, "functional": 1, "test_util": 1,
    "numpy_api": 1, "math": 1, "math_extra": 1, "eager": 1, "bitwise": 1, "nn": 1,
    "linalg": 1, "autodiff": 1, "conv_ops": 1, "rnn_ops": 1, "image_ops": 1, "ops": 1,
    "saved": 1,
    "debugging": 1,
    # tier 2: layers and the chapter's classic units
    "classic": 2, "layers": 2, "initializers": 2, "activations": 2, "regularizers": 2,
    "constraints": 2, "utils": 2, "module": 2,
    # tier 3: training
    "losses": 3, "optimizers": 3, "schedules": 3, "metrics": 3, "models": 3, "callbacks": 3,
    "checkpoints": 3, "datasets": 3, "training": 3, "text": 3, "zoo": 3, "train": 3, "data": 3,
    # tier 4: front ends
    "cli": 4, "cli_train": 4, "cli_text": 4, "cli_diagnose": 4, "plotting": 4,
    "diagnostics": 4, "keras": 4,
}  # fmt: skip


def _modules():
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = rel.parts
        if parts == ("__init__",):
            continue
        yield parts, path


def _imports(path, parts):
    tree = ast.parse(path.read_text())
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - (node.level - 1)])
                target = base + (node.module.split(".") if node.module else [])
                if not node.module:
                    for alias in node.names:
                        yield "wengert", target + [alias.name]
                else:
                    yield "wengert", target
            else:
                yield node.module.split(".")[0], node.module.split(".")[1:]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], alias.name.split(".")[1:]


def test_every_module_has_a_tier():
    unknown = [".".join(p) for p, _ in _modules() if p[0] not in TIERS]
    assert not unknown, f"modules without a tier in test_layering.TIERS: {unknown}"


def test_imports_go_down_the_tiers():
    bad = []
    for parts, path in _modules():
        tier = TIERS[parts[0]]
        for top, rest in _imports(path, parts):
            if top != "wengert" or not rest:
                continue
            other = TIERS.get(rest[0])
            if other is not None and other > tier:
                bad.append(
                    f"{'.'.join(parts)} (tier {tier}) imports {'.'.join(rest)} (tier {other})"
                )
    assert not bad, "\n".join(bad)


def test_only_backend_names_numpy():
    offenders = []
    for parts, path in _modules():
        if parts == ("backend",):
            continue
        for top, _ in _imports(path, parts):
            if top == "numpy":
                offenders.append(".".join(parts))
    assert not offenders, f"modules importing numpy directly (use wengert.backend.xp): {offenders}"
