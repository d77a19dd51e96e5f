"""Shared fixtures: the real project, its real skills and its real trained models."""

from __future__ import annotations

from pathlib import Path

import pytest

from voice_runtime.dialog.router import Assistant
from voice_runtime.nlu.engine import NluEngine
from voice_runtime.project import Project
from voice_runtime.skills.catalog import Catalog, load_catalog

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def project() -> Project:
    return Project(ROOT)


@pytest.fixture(scope="session")
def catalog(project: Project) -> Catalog:
    catalog = load_catalog([project.skills_dir])
    assert not catalog.diagnostics, [str(d) for d in catalog.diagnostics]
    return catalog


@pytest.fixture(scope="session")
def assistant(project: Project, catalog: Catalog) -> Assistant:
    """The assistant over the trained models (`make test` trains them beforehand)."""
    return Assistant(catalog, NluEngine(project, catalog, auto_train=True))


@pytest.fixture()
def baking_yaml(project: Project) -> str:
    return (project.skills_dir / "anchor_baking.yaml").read_text("utf-8")
