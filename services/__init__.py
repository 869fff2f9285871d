"""Use cases: one module per thing a user does (import, export, load metadata, enter, sign...).

Each service takes plain inputs and returns a plain result; the CLI (`cli/`) and the web views
(`webapp/views/`) are thin adapters over them. Services sit between the adapters and
`renderers | storage` (see the layers contract in pyproject.toml).
"""
