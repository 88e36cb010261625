"""The review use case: analyse a case, serve its queues, record decisions and exposures.

``ReviewSession`` is what ``vigil review`` (the web app), ``vigil leads`` and
``vigil export --confirmed`` call. It owns the rules between the tables: every
decision is checked (the category is in the case's profile, a reviewer decides only
as themselves, only a lead resolves) and goes to the case's hash-chained audit log
through ``CaseService.record``; reveals go to the exposure log.
"""

from __future__ import annotations

import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.errors import UsageError
from vigil.hashsets.categories import CategoryProfile, Profiles, load_profiles
from vigil.media.sources.registry import locator_of, open_locator
from vigil.review.accounts import settings_of, token_hash
from vigil.review.grading import AWAITING, CONFIRMED, DISPUTED, PENDING, Status, status_of
from vigil.review.groups import DEFAULT_GROUP_DISTANCE, Medium, group_media
from vigil.review.media import ReviewMedium, case_media
from vigil.review.metadata import image_metadata, thumbnail_hashes, video_metadata
from vigil.review.thumbs import Look, NoPictureError, ThumbnailCache, blurred, clear, read_item
from vigil.services.cases import Case, CaseService
from vigil.services.hashsets import HashSets
from vigil.services.matcher import Matcher, Query, open_snapshot
from vigil.store import Store
from vigil.store.review import Exposure, Grade, ReviewRepository
from vigil.store.users import User

#: Bytes read from the start of an image for its metadata (EXIF lives in the first 64 KiB).
META_HEAD = 512 * 1024
#: Queues of the app.
QUEUES = ("matched", "unknown", "disputed")
#: A reveal's clear picture can be fetched only this long after it starts.
REVEAL_SECONDS = 120.0
DEFAULT_PROFILE = "vics-us"


class ReviewError(UsageError):
    """A decision that the rules refuse (unknown medium, category, role)."""


@dataclass
class GroupView:
    """One row of a queue: a group of near duplicates to grade at once."""

    number: int
    members: list[ReviewMedium]
    statuses: dict[str, Status]
    reason: str  # why it is this far up the queue

    @property
    def first(self) -> ReviewMedium:
        """The member shown for the group."""
        return self.members[0]

    @property
    def copies(self) -> int:
        """Files in the group, exact duplicates included."""
        return sum(len(m.places) for m in self.members)


class ReviewSession:
    """The review of one case in one store."""

    def __init__(
        self,
        store: Store,
        case_name: str,
        *,
        profile: str | None = None,
        cache_root: Path | None = None,
        distance: int = DEFAULT_GROUP_DISTANCE,
        analyse: bool = True,
    ) -> None:
        """Open the review of ``case_name`` (UnknownCaseError if there is none).

        Without ``analyse`` a case never analysed is not analysed now (exports need
        decisions, not groups): each medium is its own group.
        """
        self.store = store
        self.cases = CaseService(store)
        self.case: Case = self.cases.require(case_name)
        self.repo = ReviewRepository(store.db)
        profiles = load_profiles()
        self.profile: CategoryProfile = profiles.get(profile or self._case_profile(profiles))
        self.distance = distance
        self.cache = ThumbnailCache(
            cache_root or self.cases.home / "cache" / "review" / str(self.case.id)
        )
        self._lock = threading.RLock()
        self.media: dict[str, ReviewMedium] = {}
        self.groups: dict[int, list[ReviewMedium]] = {}
        #: Whether the stored analysis covers every medium (groups and leads are known).
        self.analysed = False
        self.reload(analyse=analyse)

    def _case_profile(self, profiles: Profiles) -> str:
        """The profile of the first alert set the case was scanned with, else VICS US."""
        sets = HashSets(self.store)
        for used in self.case.settings.get("hash_sets", []) or []:
            if not isinstance(used, dict) or used.get("kind", "alert") != "alert":
                continue
            info = sets.get(str(used.get("name")))
            if info is not None and info.category_profile in profiles.profiles:
                return str(info.category_profile)
        return DEFAULT_PROFILE

    # -- analysis ---------------------------------------------------------------------------

    def reload(self, *, analyse: bool = True) -> None:
        """Read the case's media and the stored analysis (made now if missing or stale)."""
        with self._lock:
            self.media = case_media(self.cases.items(self.case))
            stored = self.repo.media(self.case)
            self.analysed = set(stored) == set(self.media)
            if not self.analysed:
                if analyse:
                    self.analyse()
                    return
                stored = {sha: (n, {}) for n, sha in enumerate(self.media, start=1)}
            for sha, medium in self.media.items():
                medium.group, medium.meta = stored[sha]
            self._index_groups()

    def _index_groups(self) -> None:
        """Groups by number, and the unknown queue's order by leads (fixed by the analysis)."""
        self.groups = {}
        for medium in self.media.values():
            self.groups.setdefault(medium.group, []).append(medium)
        cameras = {m.camera() for m in self.media.values() if m.matched and m.camera()}
        self._leads = {
            number: _lead_rank(members, cameras) for number, members in self.groups.items()
        }
        self._order = sorted(self.groups, key=lambda n: (self._leads[n][0], n))

    def _todo(
        self, name: str, user: User, members: list[ReviewMedium], statuses: dict[str, Status]
    ) -> list[ReviewMedium]:
        """The members of a group that wait in queue ``name`` for ``user``."""
        if name == "matched":
            return [m for m in members if m.matched and statuses[m.sha256].state == PENDING]
        if name == "disputed":
            return [m for m in members if statuses[m.sha256].state == DISPUTED]
        todo = []
        for m in members:
            if m.matched or m.known:
                continue
            status = statuses[m.sha256]
            if status.state == PENDING or (
                status.state == AWAITING and not status.graded_by(user.name)
            ):
                todo.append(m)
        return todo

    def analyse(self, *, workers: int = 2, actor: str | None = None) -> dict[str, int]:
        """Group the media, read their metadata, hash and match EXIF thumbnails; store it.

        Recorded in the audit log as ``review.analyse`` with the counts.
        """
        with self._lock:
            media = list(self.media.values())
            numbers = group_media(
                [Medium(m.sha256, m.first.pdq, m.first.pdq_quality, m.first.vpdq) for m in media],
                distance=self.distance,
            )
            with ThreadPoolExecutor(max(1, workers)) as pool:
                metas = list(pool.map(_read_metadata, media))
            matcher: Matcher | None = None
            thumbnails = 0
            for medium, number, meta in zip(media, numbers, metas, strict=True):
                medium.group = number
                medium.meta = meta
                thumb = meta.get("thumbnail")
                if thumb:
                    thumbnails += 1
                    if matcher is None:
                        matcher = Matcher(open_snapshot(self.store), self.store)
                    query = Query(md5=thumb.get("md5"), pdq=thumb.get("pdq"))
                    query.pdq_quality = thumb.get("pdq_quality")
                    found = [f.to_json() for f in matcher.match(query)]
                    if found:
                        meta["thumbnail_match"] = found
            self.repo.replace_media(self.case, ((m.sha256, m.group, m.meta) for m in media))
            self._index_groups()
            self.analysed = True
            counts = {
                "media": len(media),
                "groups": len(self.groups),
                "with_metadata": sum(1 for m in media if m.meta.get("exif")),
                "thumbnails": thumbnails,
                "thumbnail_matches": sum(1 for m in media if m.meta.get("thumbnail_match")),
            }
            self.cases.record(
                self.case, "review.analyse", {**counts, "distance": self.distance}, actor
            )
            return counts

    # -- statuses and queues ----------------------------------------------------------------

    def statuses(self) -> dict[str, Status]:
        """The status of every medium, from the decisions made so far."""
        by_sha: dict[str, list[Grade]] = {}
        for grade in self.repo.grades(self.case):
            by_sha.setdefault(grade.sha256, []).append(grade)
        pending_unknown = Status(PENDING)
        out: dict[str, Status] = {}
        for sha, m in self.media.items():
            grades = by_sha.get(sha)
            if grades is None and not m.matched:
                out[sha] = pending_unknown  # most media: nobody decided yet
            else:
                out[sha] = status_of(grades or [], m.listed_category(self.profile.name), m.matched)
        return out

    def queue(
        self,
        name: str,
        user: User,
        statuses: dict[str, Status] | None = None,
        *,
        start: int = 0,
        limit: int | None = None,
    ) -> list[GroupView]:
        """The groups of a queue for ``user``, most pressing first.

        ``matched``: groups with a matched medium nobody confirmed or disputed yet.
        ``unknown``: groups with an unknown medium that is pending, or awaiting a
        second reviewer who is not ``user``; ordered near duplicates of matches first,
        then the same camera (by serial) as matched media, then an EXIF thumbnail that
        matched, then the rest. ``disputed``: for leads, the media two reviewers (or a
        reviewer and a hash set) disagree on.
        """
        if name not in QUEUES:
            raise ReviewError(f"unknown queue {name!r} (queues: {', '.join(QUEUES)})")
        statuses = self.statuses() if statuses is None else statuses
        order = self._order if name == "unknown" else sorted(self.groups)
        views: list[GroupView] = []
        waiting = 0
        for number in order:
            todo = self._todo(name, user, self.groups[number], statuses)
            if not todo:
                continue
            waiting += 1
            if waiting <= start:
                continue
            reason = self._leads[number][1] if name == "unknown" else name
            views.append(
                GroupView(number, todo, {m.sha256: statuses[m.sha256] for m in todo}, reason)
            )
            if limit is not None and len(views) >= limit:
                break
        return views

    def item_fields(self) -> list[dict[str, Any]]:
        """Per file (copies included): ``group``, ``exif`` summary, ``thumbnail_match``.

        The review's result fields, keyed by path and SHA-256 like ``vigil results``.
        """
        rows: list[dict[str, Any]] = []
        for medium in self.media.values():
            for place in medium.places:
                rows.append(
                    {
                        "path": place.path,
                        "sha256": medium.sha256,
                        "group": medium.group,
                        "exif": medium.meta.get("exif"),
                        "thumbnail": medium.meta.get("thumbnail"),
                        "thumbnail_match": medium.meta.get("thumbnail_match", []),
                    }
                )
        return rows

    def counts(self, user: User, statuses: dict[str, Status] | None = None) -> dict[str, int]:
        """Groups waiting in each queue for ``user``, and confirmed media."""
        statuses = self.statuses() if statuses is None else statuses
        out = {
            name: sum(
                1 for members in self.groups.values() if self._todo(name, user, members, statuses)
            )
            for name in QUEUES
        }
        out["confirmed"] = sum(1 for s in statuses.values() if s.state == CONFIRMED)
        return out

    # -- decisions --------------------------------------------------------------------------

    def decide(
        self, user: User, sha256s: list[str], key: str, *, resolve: bool = False
    ) -> dict[str, Any]:
        """Record one decision on media (a group graded at once); what was recorded.

        ``key`` is a category of the profile (a number key), or ``agree`` / ``dispute``
        for matched media. On a matched medium a category equal to the listed one is
        an agreement and a different one a dispute. ``resolve`` (leads only) settles
        disputed media with the category.
        """
        if not sha256s:
            raise ReviewError("no media to decide on")
        unknown = [s for s in sha256s if s not in self.media]
        if unknown:
            raise ReviewError(f"no medium {unknown[0][:16]}... in case {self.case.name}")
        if resolve and not user.is_lead:
            raise ReviewError("only a lead resolves disputed media")
        category: str | None = None
        if key not in ("agree", "dispute"):
            try:
                category = self.profile.validate(key)
            except Exception as exc:
                raise ReviewError(str(exc)) from None
        planned: list[tuple[str, str, str | None]] = []  # (sha256, verdict, category)
        for sha in sha256s:  # every medium checked before anything is written
            medium = self.media[sha]
            listed = medium.listed_category(self.profile.name)
            if resolve:
                if category is None:
                    raise ReviewError("a lead resolves with a category")
                planned.append((sha, "resolve", category))
            elif medium.matched:
                if key == "agree" or category == listed:
                    planned.append((sha, "agree", listed))
                else:
                    planned.append((sha, "dispute", category))
            elif category is None:
                raise ReviewError("an unknown medium is graded with a category, not agreed with")
            else:
                planned.append((sha, "grade", category))
        batch = secrets.token_hex(8)
        recorded: dict[str, list[str]] = {}
        with self._lock:
            for verdict, category_here in dict.fromkeys((v, c) for _, v, c in planned):
                shas = [s for s, v, c in planned if (v, c) == (verdict, category_here)]
                self.repo.add_grades(
                    self.case, shas, reviewer=user.name, role=user.role, verdict=verdict,
                    category=category_here, profile=self.profile.name, batch=batch,
                )  # fmt: skip
                recorded.setdefault(verdict, []).extend(shas)
        statuses = self.statuses()
        details = {
            "batch": batch,
            "profile": self.profile.name,
            "category": category,
            "decisions": {v: sorted(s) for v, s in recorded.items()},
            "confirmed": sorted(s for s in sha256s if statuses[s].state == CONFIRMED),
            "disputed": sorted(s for s in sha256s if statuses[s].state == DISPUTED),
        }
        self.cases.record(self.case, "review.decide", details, user.name)
        return details

    def undo(self, user: User) -> list[str]:
        """Undo the examiner's last decision (a whole group if it was one); the media."""
        with self._lock:
            undone = self.repo.undo_last(self.case, user.name)
        if undone:
            shas = sorted({g.sha256 for g in undone})
            self.cases.record(
                self.case, "review.undo", {"batch": undone[0].batch, "media": shas}, user.name
            )
            return shas
        return []

    def confirmed(self) -> list[tuple[ReviewMedium, Status]]:
        """Confirmed media and their status, in walk order."""
        statuses = self.statuses()
        return [(m, statuses[s]) for s, m in self.media.items() if statuses[s].state == CONFIRMED]

    # -- pictures and the exposure log ------------------------------------------------------

    def look(self, user: User) -> Look:
        """The examiner's blur level and greyscale choice."""
        settings = settings_of(user)
        return Look(int(settings["blur"]), bool(settings["grey"]))

    def thumbnail(self, sha256: str, look: Look) -> bytes:
        """The blurred thumbnail of a medium (made once per look, then cached)."""
        medium = self._medium(sha256)
        cached = self.cache.get(sha256, look)
        if cached is not None:
            return cached
        data = blurred(read_item(medium.first), medium.kind, look)
        self.cache.put(sha256, look, data)
        return data

    def warm_order(self, limit: int = 300) -> list[str]:
        """The media shown first (the first groups of the matched and unknown queues).

        Read from the store now, so that ``warm`` can run in a thread that touches only
        the evidence and the cache.
        """
        nobody = User(0, "", "reviewer", {})
        order = [
            g.first.sha256 for name in ("matched", "unknown") for g in self.queue(name, nobody)
        ]
        return order[:limit]

    def warm(self, order: list[str], looks: list[Look], stop: threading.Event | None = None) -> int:
        """Make blurred thumbnails ahead of the examiners (cold pages come up cached); how many."""
        made = 0
        for sha in order:
            for look in looks:
                if stop is not None and stop.is_set():
                    return made
                try:
                    if self.cache.get(sha, look) is None:
                        self.thumbnail(sha, look)
                        made += 1
                except NoPictureError:
                    pass
        return made

    def start_reveal(self, user: User, sha256: str, mode: str) -> str:
        """Open an exposure (a reveal is being held); the token for its clear picture."""
        self._medium(sha256)
        if mode not in ("full", "keyhole"):
            raise ReviewError("a reveal is full or keyhole")
        now = time.time()
        self.repo.close_stale(self.case, now - REVEAL_SECONDS, REVEAL_SECONDS)
        token = secrets.token_urlsafe(24)
        self.repo.start_exposure(self.case, sha256, user.name, mode, token_hash(token), now)
        return token

    def open_reveal(self, user: User, token: str) -> tuple[str, str]:
        """The medium and mode of ``user``'s reveal ``token`` if it is still held.

        NoPictureError once it ended (released), timed out, or is someone else's.
        """
        found = self.repo.open_exposure(token_hash(token))
        if found is None:
            raise NoPictureError("this reveal has ended")
        case_id, exposure = found
        if (
            case_id != self.case.id
            or exposure.reviewer != user.name
            or time.time() - exposure.started_at > REVEAL_SECONDS
        ):
            raise NoPictureError("this reveal has ended")
        return exposure.sha256, exposure.mode

    def reveal_picture(
        self, user: User, sha256: str, mode: str, keyhole: tuple[float, float] | None = None
    ) -> bytes:
        """The clear picture for a held reveal (``open_reveal`` first): full, or a keyhole."""
        medium = self._medium(sha256)
        where = (keyhole or (0.5, 0.5)) if mode == "keyhole" else None
        return clear(read_item(medium.first), medium.kind, self.look(user), keyhole=where)

    def end_reveal(self, user: User, token: str) -> Exposure | None:
        """Close the exposure (the key or button was released); the logged row."""
        return self.repo.end_exposure(token_hash(token), user.name, time.time())

    def exposures(self, reviewer: str | None = None) -> list[Exposure]:
        """The exposure log (one examiner's, if named)."""
        return self.repo.exposures(self.case, reviewer)

    def _medium(self, sha256: str) -> ReviewMedium:
        try:
            return self.media[sha256]
        except KeyError:
            raise NoPictureError("no such medium in this case") from None


def _lead_rank(members: list[ReviewMedium], matched_cameras: set[str | None]) -> tuple[int, str]:
    """Where an unknown group goes in its queue, and why (the leads that put it there)."""
    unknown = [m for m in members if not m.matched]
    if len(unknown) < len(members):
        return 0, "near duplicate of a match"
    if any(m.camera() in matched_cameras for m in unknown if m.camera()):
        return 1, "same camera as matched media"
    if any(m.meta.get("thumbnail_match") for m in unknown):
        return 2, "EXIF thumbnail matched"
    return 3, ""


def _read_metadata(medium: ReviewMedium) -> dict[str, Any]:
    """The stored metadata of one medium: EXIF summary and embedded thumbnail hashes."""
    locator = locator_of(medium.first.path, medium.first.source, medium.first.locator)
    if locator is None:
        return {}
    try:
        if medium.kind == "image":
            with open_locator(locator) as stream:
                meta = image_metadata(stream.read(META_HEAD))
        else:
            meta = video_metadata(read_item(medium.first))
    except Exception:  # unreadable now: no leads from it, the review goes on
        return {}
    out: dict[str, Any] = {}
    summary = meta.summary()
    summary.pop("thumbnail_bytes", None)
    if summary:
        out["exif"] = summary
    if meta.thumbnail:
        out["thumbnail"] = thumbnail_hashes(meta.thumbnail)
    return out
