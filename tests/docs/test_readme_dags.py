"""The README's DAG examples import and validate as they are printed: a reader copies a
block into ``dags/`` and it works (a block that shows only part of a DAG, with no
imports, is left out)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import cli

README = Path(__file__).resolve().parents[2] / "README.md"


def complete_dag_examples() -> list[tuple[int, str]]:
    """(line, text) of each Python block that imports what it uses and defines a DAG."""
    text = README.read_text()
    found = []
    for match in re.finditer(r"```python\n(.*?)```", text, re.S):
        block = match.group(1)
        if re.search(r"^(from|import) ", block, re.M) and re.search(r"with DAG\(|@dag\b", block):
            found.append((text[: match.start()].count("\n") + 1, block))
    return found


def test_the_readme_has_complete_dag_examples() -> None:
    assert len(complete_dag_examples()) >= 5


@pytest.mark.parametrize(("line", "block"), complete_dag_examples(), ids=lambda v: str(v)[:8])
def test_a_readme_dag_example_validates(line: int, block: str, tmp_path: Path) -> None:
    (tmp_path / f"readme_line_{line}.py").write_text(block)
    result = CliRunner().invoke(cli, ["dags", "validate", str(tmp_path), "--output", "json"])
    report = json.loads(result.stdout)
    assert report["problems"] == [], f"README line {line}: {report['problems']}"
    assert report["dags"], f"README line {line} defines no DAG"
