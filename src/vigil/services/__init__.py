"""The use cases of the library: what the CLI and the service call, and nothing below them.

One module per use case family, each a thin composition of the earlier stages that
owns the rules between tables and the audit entries:

* ``hashsets``: import a file into a set, export a set, delete a set.
* ``catalog``: the PDQ and vPDQ indexes kept beside the store, up to date with it.
* ``matcher``: one snapshot of sets, thresholds, disabled entries and indexes, and
  the one ``Matcher`` that the scan, ``vigil match`` and the service all use.
* ``cases``: open a case, record an action in its audit log, read its items.

Later stages (the scan, review, exchange and crawl; the report and the referral)
call these; the CLI and the web routes call those and these, never the store.
"""
