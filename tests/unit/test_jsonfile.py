"""recipes.jsonfile: the one atomic writer, and a scan that it is the only one."""

from __future__ import annotations

import ast
import json
import threading
from pathlib import Path

import pytest

from recipes.jsonfile import write_json, write_text
from recipes.target import repo_root


def test_writes_atomically_and_leaves_no_temporary_file(tmp_path):
    path = write_json(tmp_path / "a" / "doc.json", {"b": 1, "a": [1, 2]}, sort_keys=True)
    assert json.loads(path.read_text()) == {"a": [1, 2], "b": 1}
    assert path.read_text().index('"a"') < path.read_text().index('"b"')
    assert [p.name for p in path.parent.iterdir()] == ["doc.json"]


def test_a_failed_write_keeps_the_old_document_and_removes_its_temporary_file(tmp_path):
    path = write_json(tmp_path / "docs" / "doc.json", {"v": 1})
    with pytest.raises(TypeError):
        write_json(path, {"v": object()})  # not serializable: fails while writing
    assert json.loads(path.read_text()) == {"v": 1}
    assert [p.name for p in path.parent.iterdir()] == ["doc.json"]


def test_a_text_write_that_fails_half_way_removes_its_temporary_file(tmp_path):
    path = write_text(tmp_path / "jars" / "manifest.txt", "a.jar\n")
    with pytest.raises(UnicodeEncodeError):
        write_text(path, "b.jar\n\ud800")  # a lone surrogate: fails inside the file's write
    assert path.read_text() == "a.jar\n"
    assert [p.name for p in path.parent.iterdir()] == ["manifest.txt"]


def test_concurrent_writers_never_share_a_temporary_file(tmp_path):
    path, errors = tmp_path / "docs" / "doc.json", []

    def writer(k: int) -> None:
        try:
            for i in range(50):
                write_json(path, {"writer": k, "i": i, "pad": "x" * 2000})
        except Exception as exc:  # a clash would surface as FileNotFoundError
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert json.loads(path.read_text())["i"] == 49  # whole: some writer's last document
    assert [p.name for p in path.parent.iterdir()] == ["doc.json"]


# files that replace a file for another reason than a JSON document: the kit's catalog jar,
# the JVM archive, a Files API upload
NOT_JSON = {"recipes/delta_lake.py", "recipes/jvm_archive.py", "recipes/workspace/files.py"}


def _replaces(tree: ast.AST) -> list[int]:
    """Lines calling ``os.replace(...)`` or ``<path>.replace(<one argument>)`` on a path."""
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr != "replace":
            continue
        owner = node.func.value
        by_os = isinstance(owner, ast.Name) and owner.id == "os"
        by_path = len(node.args) == 1 and not node.keywords and "tmp" in ast.unparse(owner)
        if by_os or by_path:
            out.append(node.lineno)
    return out


def test_no_other_module_writes_json_atomically_by_hand():
    root = repo_root()
    found = {}
    for path in sorted((root / "recipes").rglob("*.py")) + sorted((root / "widgets").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel == "recipes/jsonfile.py" or rel in NOT_JSON:
            continue
        text = path.read_text()
        lines = _replaces(ast.parse(text))
        if lines or "write_text(json.dumps" in text:
            found[rel] = lines
    assert found == {}, "write JSON with recipes.jsonfile.write_json"
    assert Path(root / "recipes" / "jsonfile.py").is_file()
