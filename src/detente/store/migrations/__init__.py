"""Alembic's script directory for the store: ``env.py`` and the revisions in ``versions/``.

Shipped inside the package and driven from ``detente.store.migrate`` (no alembic.ini at run
time); ``alembic.ini`` at the repository's root is for developers writing a revision.
"""
