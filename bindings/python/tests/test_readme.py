"""The Python examples of the two READMEs run as written: the five-line example of the
top-level README.md ("Using coffer from Python") and the example of bindings/python/README.md."""

import re
from pathlib import Path

import pytest

import coffer

ROOT = Path(__file__).resolve().parents[3]


def python_blocks(text):
    """The ```python blocks of a Markdown text, in order."""
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.S | re.M)


def test_the_top_level_readme_shows_a_five_line_example_that_runs():
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Using coffer from Python", 1)
    assert len(section) == 2, "README.md has no section 'Using coffer from Python'"
    blocks = python_blocks(section[1].split("\n## ", 1)[0])
    assert len(blocks) == 1, blocks
    lines = [line for line in blocks[0].splitlines() if line.strip()]
    assert len(lines) == 5, lines
    scope = {}
    exec(compile(blocks[0], "README.md", "exec"), scope)  # noqa: S102 - our own README text
    assert bytes(scope["plain"]) == b"invoice 2026-114"
    # What the text after it says: another context raises DecryptError.
    with pytest.raises(coffer.DecryptError):
        coffer.open(scope["sealed"], [coffer.UnlockKey.kek("acme-kek", scope["kek"])], context={"tenant": "globex"})


def test_the_package_readme_examples_run_in_order(tmp_path, monkeypatch):
    """Each block continues the one before (one scope), in a fresh directory (the keystore example
    creates keys.db there)."""
    blocks = python_blocks((ROOT / "bindings" / "python" / "README.md").read_text(encoding="utf-8"))
    assert blocks, "bindings/python/README.md has no ```python block"
    monkeypatch.chdir(tmp_path)
    scope = {}
    for block in blocks:
        exec(compile(block, "bindings/python/README.md", "exec"), scope)  # noqa: S102 - our own README text
    assert bytes(scope["plaintext"]) == b"quarterly numbers"
    assert (tmp_path / "keys.db").is_file()
