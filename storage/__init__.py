"""The store: clinical data keyed as ODM keys it, under an append-only audit trail.

- :mod:`storage.engine`: ``make_engine`` (SQLite WAL + foreign keys, or PostgreSQL),
  ``write_transaction``, ``database_url`` (``--db`` / ``EDC_DATABASE_URL``).
- :mod:`storage.migrate`: ``upgrade`` (Alembic, configured in code).
- :mod:`storage.studies`: ``load_study``, ``current_metadata``, ``list_sites``.
- :mod:`storage.users`: ``add_user``, ``authenticate``, ``set_role``, ``list_users``.
- :mod:`storage.accounts`: ``deactivate_user``, ``activate_user``, ``revoke_role``,
  ``change_password``, ``set_password``, ``reset_password`` (each ends sessions as needed
  and writes its access-log row).
- :mod:`storage.passwords`: ``check_password_policy`` (length, user name, common passwords),
  ``one_time_password``.
- :mod:`storage.logins`: ``check_password``, the throttled password check of sign-in and
  e-signatures (failures per user and address, per user, per address; the access log).
- :mod:`storage.subjects`: ``create_subject``, ``subject_snapshot``, ``form_state``.
- :mod:`storage.writes`: ``save_form``, the one write path of a form.
- :mod:`storage.bulk`: ``BulkWriter``, the import path (same rules, same audit rows).
- :mod:`storage.exchange`: ``import_subjects`` (SubjectRecords in, through ``BulkWriter``);
  :mod:`storage.export_records`: ``iter_snapshot``, ``iter_changes``, ``admin_data`` (out);
  :mod:`storage.export_versions` runs them once per metadata version the subjects are on.
- :mod:`storage.audit`: ``history``, ``replay``.
- :mod:`storage.queries`, :mod:`storage.signatures`, :mod:`storage.grants`.
- :mod:`storage.vocabulary`: roles, statuses, access events and every role set (no SQL).
- :mod:`storage.readers`: the web pages' reads, returning snapshots (casebook, listings).
- :mod:`storage.web_sessions`: the ``web_sessions`` rows; :mod:`storage.app_secrets`: the
  shared signing key; :mod:`storage.write_gate`: web writes on one SQLite file take turns.

Nothing outside this package writes SQL or imports :mod:`storage.models` (import-linter).
"""
