"""Small benign hash-set files in every format, written by the tests themselves.

Digests are random-looking hex of no file at all, or the digests of the benign
example evidence; nothing here describes or derives from real material.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from vigil.hashsets.formats.nsrl import SCHEMA

MD5 = ["ac26156ccc1aa30390ef3dc20dd094b1", "c0865dd7fc367a12f0fdfa90083502cd"]
SHA1 = ["0ced09ba83669903438c01f1050c4850c2ee14cc", "8afc717305763a06ac64b175607642b9eca36ac8"]
SHA256 = ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "a" * 64]
PDQ = ["dee92d949b52a57273a754ad58c92b36bb529cd8cc8c526b3526ad48cdc864b4", "f" * 64]
PHOTODNA = "QUJD" * 48  # 192 base64 characters, opaque to Vigil

VICS_2_MEDIA = {
    "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media",
    "value": [
        {
            "MediaID": 7,
            "Category": 1,
            "MD5": MD5[0].upper(),
            "SHA1": SHA1[0].upper(),
            "VictimIdentified": "true",
            "IsDistributed": False,
            "Series": "S-1",
            "Tags": ["a", "b"],
            "MediaSize": 1234,
            "Comments": "benign test record",
            "DateUpdated": "2026-01-02T03:04:05Z",
            "OffenderIdentified": True,
            "AlternativeHashes": [
                {"HashName": "PDQ", "HashValue": PDQ[0]},
                {"HashName": "PhotoDNA", "HashValue": PHOTODNA},
                {"HashName": "TMK", "HashValue": "opaque"},
            ],
            "MediaFiles": [
                {"MD5": MD5[0].upper(), "FileName": "beach.jpg", "FilePath": "holiday/"},
                {"FileName": "copy.jpg", "Deleted": True},
            ],
            "Exifs": [{"PropertyName": "Make", "PropertyValue": "Example"}],
        },
        {"MediaID": 8, "Category": 4, "MD5": MD5[1], "IsDistributed": "false"},
        {"MediaID": 9, "SHA1": SHA1[1]},
    ],
}

VICS_1_CASE = {
    "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Cases",
    "value": [
        {
            "CaseID": "c-1",
            "CaseNumber": "2026-0001",
            "ContactName": "Examiner",
            "SourceApplicationName": "Vigil tests",
            "Media": [
                {"MediaID": 1, "Category": 2, "MD5": MD5[0], "PhotoDNA": PHOTODNA},
                {"MediaID": 2, "Category": 0, "MD5": MD5[1], "IsDistributed": "true"},
            ],
            "SourceApplicationVersion": "1",
        }
    ],
}

CAID = {
    "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.2.xml#Media",
    "value": [
        {"MediaID": 1, "Category": "A", "MD5": MD5[0]},
        {"MediaID": 2, "Category": "C", "MD5": MD5[1], "SHA1": SHA1[1]},
    ],
}


def write_json(path: Path, data: object, bom: bool = False) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + json.dumps(data, indent=1).encode())
    return path


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def tx_csv(path: Path) -> Path:
    return write_text(
        path,
        "signal_type,signal_str,collab,category,tags\n"
        f"pdq,{PDQ[0]},Sample Collab,POSITIVE_CLASS,tag1 tag2\n"
        f"video_md5,{MD5[0]},Sample Collab,INVESTIGATION_SEED,\n",
    )


def tx_lines(path: Path) -> Path:
    return write_text(path, f"pdq {PDQ[0]}\nvideo_md5 {MD5[0].upper()}\nvideo_sha256 {SHA256[0]}\n")


def md5sum(path: Path) -> Path:
    return write_text(path, f"{MD5[0]}  holiday/beach.jpg\n{MD5[1]} *misc/binary mode.gif\n")


def hashdeep(path: Path) -> Path:
    return write_text(
        path,
        "%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n"
        "## Invoked from: /evidence\n## $ hashdeep -r .\n##\n"
        f"1234,{MD5[0]},{SHA256[0]},/evidence/a, with comma.jpg\n"
        f"99,{MD5[1]},{SHA256[1]},/evidence/b.png\n",
    )


def hex_list(path: Path, values: list[str]) -> Path:
    return write_text(path, "\n".join(values) + "\n")


def rds(path: Path, rows: list[tuple[str, str, str, str, str, int, int]]) -> Path:
    """An NSRL RDS v3 database with NIST's schema and the given FILE rows."""
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    db.execute(
        "INSERT INTO VERSION VALUES ('2026.09.1', 'modern minimal', '2026-09-01', "
        "'2026-09-15', 'test RDS')"
    )
    db.execute("INSERT INTO MFG VALUES (1, 'Example Corp')")
    db.execute("INSERT INTO OS VALUES (1, 'ExampleOS', '1.0', 1)")
    db.execute("INSERT INTO PKG VALUES (1, 'Example Suite', '1.0', 1, 1, 'English', 'Utility')")
    db.executemany("INSERT INTO FILE VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    db.commit()
    db.close()
    return path


def rds_rows() -> list[tuple[str, str, str, str, str, int, int]]:
    """Three files, two of which are the same content under two names (one distinct hash)."""
    return [
        (SHA256[0].upper(), SHA1[0].upper(), MD5[0].upper(), "ABCD1234", "setup.exe", 10, 1),
        (SHA256[0].upper(), SHA1[0].upper(), MD5[0].upper(), "ABCD1234", "setup-copy.exe", 10, 1),
        (SHA256[1].upper(), SHA1[1].upper(), MD5[1].upper(), "00FF00FF", "readme.txt", 5, 1),
    ]
