"""Readers for the web app: SQL that returns snapshots (frozen dataclasses, named tuples).

The web app reads the store only through :mod:`storage` functions; these modules hold the
reads that serve its pages (an import-linter contract keeps SQLAlchemy, ``storage.models``
and ``storage.prepared`` out of ``webapp``).

- :mod:`storage.readers.casebook`: form statuses, queries and signatures of one subject.
- :mod:`storage.readers.listings`: the served study's newest version, its sites, its
  metadata versions, the query list.
"""
