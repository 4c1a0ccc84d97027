"""Encrypted backups: create, verify (restore drill), restore, prune.

A backup *set* is two files in BACKUP_DIR sharing one base name
``<BACKUP_NAME>-<YYYYmmddTHHMMSSZ>``:

- ``.db.gpg`` — PostgreSQL: ``pg_dump --format=custom`` taken in an exported snapshot;
  SQLite: an online-backup image made in memory. Streamed straight into gpg. Attachments
  live in the database (encrypted), so this file holds them too.
- ``.manifest.json`` — written last: sha256 and size of each file, row counts per table
  (taken in the same snapshot as the dump), app version and latest migrations, and a MAC
  (HMAC-SHA256 over all of that, with a key derived from AUDIT_HMAC_KEY).

Sets made before attachments moved into the database may also hold ``.files.tar.gpg``, a tar
of a directory nothing writes to any more: it is checked against the manifest like every
file, and never extracted.

One module per question: ``sets`` (names, listing, files on disk), ``manifest`` (signing and
checking), ``database`` (what we back up from and restore into), ``dump`` (making a set),
``retention`` (pruning), ``restore`` (the drill and the restore), ``runs`` (recording a run).
"""
