"""Shared fixtures: store URLs for SQLite and for the PostgreSQL server on 127.0.0.1:5432."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from detente.devtools.cluster import Cluster
from support import THREE, TWO


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--sim-seed",
        type=int,
        default=None,
        help="test_simulation: replay this one seed (with its trace on failure) instead of the CI seeds",
    )
    parser.addoption(
        "--sim-parties", type=int, choices=(2, 3), default=None, help="with --sim-seed: nodes in the run"
    )


PG = os.environ.get("DETENTE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _admin():
    return create_engine(
        PG.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )


@pytest.fixture
def pg_database() -> Iterator[callable]:
    """Makes fresh PostgreSQL databases on demand; drops them afterwards."""
    if PG == "skip":
        pytest.skip("DETENTE_TEST_PG=skip")
    made: list[str] = []
    engine = _admin()

    def make() -> str:
        name = f"detente_test_{uuid.uuid4().hex[:10]}"
        with engine.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return PG.rsplit("/", 1)[0] + "/" + name

    try:
        yield make
    finally:
        with engine.connect() as c:
            for name in made:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("pg_database")()


def _running(root: Path, parties: list[tuple[str, str]]) -> Iterator[Cluster]:
    cluster = Cluster(root, parties)
    cluster.start()
    try:
        cluster.wait_links()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def two(tmp_path: Path) -> Iterator[Cluster]:
    """US-EUCOM and RU-MOD as real processes, linked."""
    yield from _running(tmp_path, TWO)


@pytest.fixture
def three(tmp_path: Path) -> Iterator[Cluster]:
    """US-EUCOM, RU-MOD and UA-GS as real processes, all linked."""
    yield from _running(tmp_path, THREE)
