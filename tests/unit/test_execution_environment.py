"""execution-environment.yml: ansible-builder v3 turns it into a build context with our pinned dependencies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_ansible_builder_creates_a_build_context(tmp_path):
    builder = Path(sys.executable).parent / "ansible-builder"
    proc = subprocess.run([str(builder), "create", "--file", str(REPO / "execution-environment.yml"), "--context", str(tmp_path)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    build = tmp_path / "_build"
    python = (build / "requirements.txt").read_text()
    system = (build / "bindep.txt").read_text()
    galaxy = yaml.safe_load((build / "requirements.yml").read_text())
    recipe = next(p for p in (tmp_path / "Containerfile", tmp_path / "Dockerfile") if p.exists()).read_text()
    for pin in ("kubernetes==", "requests==", "psycopg2-binary=="):
        assert pin in python
    assert "postgresql15" in system and "git-core" in system
    assert galaxy["collections"][0]["name"].endswith("easymo.rollback.git")
    assert "ansible-core==2.19.14" in recipe and "ansible-runner==2.4.3" in recipe
    # The collection's own requirements for AWX projects resolve the same repository.
    assert yaml.safe_load((REPO / "collections" / "requirements.yml").read_text())["collections"][0]["type"] == "git"
