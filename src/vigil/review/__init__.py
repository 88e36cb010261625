"""Review: examiners grade what the hashes did not decide, safely, and new hashes come out.

A stage after ``services`` (it uses cases, the matcher and the store's review
tables), before the report and the web app:

* ``media``: a case's distinct media (one per SHA-256, copies listed);
* ``groups``: near-duplicate groups (PDQ within a distance, vPDQ matches);
* ``metadata`` and ``leads``: EXIF/XMP/container leads, the embedded thumbnail;
* ``grading``: statuses from decisions, the four-eyes rule;
* ``thumbs``: blurred, grey pictures (clear only for a held reveal);
* ``accounts``: examiners, Argon2id passwords, sessions;
* ``service``: ``ReviewSession``, the use case the app and the CLI call;
* ``export``: the confirmed media as a hash set.
"""
