"""The warm card index: what `kb route` (words, and alerts the router does not name) and
`kb access CARD` read, so that neither parses every card of a 100,000-card KB.

One SQLite file in kb's cache folder (kb.cache.store.cache_dir) holds, per card file, its
stat, its id, its alerts and the set of its search terms; per routing line (single-card lines
of the router and its sub-routers), its text and card; per card id (a "document": its router
lines and its files together), its bag of terms; and per term, the documents holding it.

Never trusted blindly: every use lists the cards folder and stats every card file (the cost
is that listing: about 3 microseconds a file) and every router page, and compares a digest
of those stats with the one the index was built from. A file whose stat changed is read
again and only the documents it touches are re-derived; a router page that changed
re-derives the router part. A file modified within the last 2 seconds is recorded with no
stat, so it is read again next time (a same-size edit in the same clock tick cannot hide).
A damaged, foreign or older-format file is rebuilt; an index that cannot be written (a
read-only cache) is built in memory for the one run. The index can make kb faster, never
give a different answer: tests compare it with the computation from the files.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import stat
import time
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from kb import __version__
from kb.cache import store as cache
from kb.config.mkdocs import Paths

# 5: file keys carry the ctime; 6: line_names; 7: the last scan kept; 8: router inputs hold
# link targets ("missing" too) and mkdocs.yml
FORMAT = "8"
DB_NAME = "card-index-v4.sqlite"  # v2: answers; v3: no bag per document; v4: sealed answers
ANSWERS_KEPT = 2000  # the most recent `kb access CARD` answers
RACY_NS = 2_000_000_000  # as kb.cache.result: a file modified this recently is read again next time

SCHEMA = """
CREATE TABLE meta(k TEXT PRIMARY KEY, v TEXT);
CREATE TABLE files(rel TEXT PRIMARY KEY, key TEXT, card_id TEXT, terms TEXT NOT NULL, alerts TEXT NOT NULL);
CREATE INDEX files_card ON files(card_id, rel);
CREATE TABLE file_alerts(alert TEXT NOT NULL, lower TEXT NOT NULL, rel TEXT NOT NULL);
CREATE INDEX file_alerts_alert ON file_alerts(alert, rel);
CREATE INDEX file_alerts_lower ON file_alerts(lower);
CREATE INDEX file_alerts_rel ON file_alerts(rel);
CREATE TABLE lines(ord INTEGER PRIMARY KEY, page TEXT, line INTEGER, text TEXT, card_id TEXT, path TEXT);
CREATE INDEX lines_card ON lines(card_id, ord);
CREATE TABLE router_alerts(alert TEXT NOT NULL, ord INTEGER NOT NULL, card_id TEXT NOT NULL);
CREATE INDEX router_alerts_alert ON router_alerts(alert, ord);
CREATE TABLE line_names(name TEXT NOT NULL, ord INTEGER NOT NULL);
CREATE INDEX line_names_name ON line_names(name, ord);
CREATE TABLE docs(num INTEGER PRIMARY KEY, card_id TEXT UNIQUE NOT NULL);
CREATE TABLE postings(term TEXT PRIMARY KEY, docs BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE scan(k TEXT PRIMARY KEY, v BLOB);
CREATE TABLE answers(key TEXT PRIMARY KEY, deps TEXT NOT NULL, output TEXT NOT NULL, at INTEGER NOT NULL, seal TEXT);
"""


@dataclass(frozen=True)
class Entry:
    """The routing fields of one card file, as `kb route` reads them (raw YAML values)."""

    card_id: str
    title: str
    alerts: tuple[str, ...]
    symptoms: tuple[str, ...]
    summary: str


def entry_of(data: dict) -> Entry:
    found = data.get("triggers")
    triggers: dict = found if isinstance(found, dict) else {}
    as_list = lambda v: tuple(str(x) for x in v) if isinstance(v, list) else ()
    return Entry(
        str(data.get("id") or ""),
        str(data.get("title") or ""),
        as_list(triggers.get("alerts")),
        as_list(triggers.get("symptoms")),
        str(data.get("summary") or ""),
    )


def read_entry(path: str) -> Entry | None:
    """The entry of the card file at `path`, or None when it cannot be read or is no mapping."""
    from kb.core import safefile, yamlio  # a YAML parser only when a file changed

    try:
        data = yamlio.load_mapping(safefile.read_bytes(path, yamlio.MAX_BYTES))
    except (OSError, yamlio.YamlProblem):
        return None
    entry = entry_of(data)
    return entry if entry.card_id else replace(entry, card_id=Path(path).stem)


# -- the card files and their stats -------------------------------------------------------------
def stat_key(st: os.stat_result, racy: int) -> str | None:
    if st.st_mtime_ns >= racy:
        return None  # modified just now: read it again next time
    return f"{st.st_mtime_ns}:{st.st_size}:{_identity(st)}"


def _identity(st: os.stat_result) -> int:
    """The inode and the ctime in one signed 64-bit number: an edit that puts the mtime back
    (cp -p, rsync -t) still moves the ctime (outside review: a kept answer stood)."""
    return hash((st.st_ino, st.st_ctime_ns))


class CardScan:
    """The card files the loader reads and their stats, taken in one pass: what the index is
    checked against. The digest is built from the raw numbers; keys as text only when asked."""

    BLOCK = 1024  # files compared at once by differing()

    def __init__(self, folder: str, names: list[str], numbers: array, racy: int):
        self.folder, self.names, self.numbers, self.racy = folder, names, numbers, racy
        # a file modified just now (or unreadable now: -1) has no key: it is read again next time
        mtimes = numbers[0::3]
        self.settled = not mtimes or (min(mtimes) >= 0 and max(mtimes) < racy)
        joined = "\0".join(names).encode()
        self.names_digest = hashlib.blake2b(joined, digest_size=16).hexdigest()
        digest = hashlib.blake2b(digest_size=16)
        digest.update(joined)
        digest.update(numbers.tobytes())
        self.digest = digest.hexdigest()

    def rel(self, i: int) -> str:
        return f"{self.folder}/{self.names[i]}"

    def key(self, i: int) -> str | None:
        mtime, size, ino = self.numbers[3 * i : 3 * i + 3]
        return f"{mtime}:{size}:{ino}" if 0 <= mtime < self.racy else None

    def files(self) -> list[tuple[str, str | None]]:
        return [(self.rel(i), self.key(i)) for i in range(len(self.names))]

    def unsettled(self) -> list[int]:
        """The files that have no key: modified just now, or unreadable now."""
        if self.settled:
            return []
        racy = self.racy
        return [i for i, mtime in enumerate(self.numbers[0::3]) if not 0 <= mtime < racy]

    def differing(self, before: array) -> list[int]:
        """The files whose stat differs from `before` (the numbers of an earlier scan of the
        same names): compared a block at a time in C, file by file only inside a block that differs."""
        now, block, found = self.numbers, 3 * self.BLOCK, []
        for start in range(0, len(now), block):
            if now[start : start + block] != before[start : start + block]:
                found += [
                    j // 3 for j in range(start, min(start + block, len(now)), 3) if now[j : j + 3] != before[j : j + 3]
                ]
        return found


def scan_cards(root: Path, cards_dir: str) -> CardScan | None:
    """Every card file the loader reads, with its stat; None when the folder cannot be listed.
    The names are the loader's (kb.load.rulefiles.yaml_names); a link out of the KB is left out
    as the loader leaves it out, and a link inside is keyed by its target. One stat a file and
    no object per file: about 3 microseconds a file."""
    from kb.core.paths import is_outside

    folder = os.path.normpath(cards_dir).replace(os.sep, "/")
    racy = time.time_ns() - RACY_NS
    if is_outside(root, folder):
        return CardScan(folder, [], array("q"), racy)
    base = os.path.join(root, folder)
    try:
        names = sorted(name for name in os.listdir(base) if name.endswith((".yaml", ".yml")))
        fd = os.open(base, os.O_RDONLY) if os.stat in os.supports_dir_fd else None
    except FileNotFoundError:
        return CardScan(folder, [], array("q"), racy)
    except OSError:
        return None
    numbers = array("q")
    outside = set()
    stat = os.stat
    try:
        for name in names:
            try:
                where = name if fd is not None else os.path.join(base, name)  # no dir_fd on Windows
                st = stat(where, dir_fd=fd, follow_symlinks=False)
                if st.st_mode & 0o170000 == 0o120000:  # a symbolic link
                    if is_outside(root, f"{folder}/{name}"):
                        outside.add(name)
                        continue
                    st = stat(where, dir_fd=fd)
                numbers.extend((st.st_mtime_ns, st.st_size, _identity(st)))
            except OSError:
                numbers.extend((-1, -1, -1))  # unreadable now: the loader reports it; read again next time
    finally:
        if fd is not None:
            os.close(fd)
    if outside:
        names = [name for name in names if name not in outside]
    return CardScan(folder, names, numbers, racy)


def card_files(root: Path, cards_dir: str) -> list[tuple[str, str | None]] | None:
    """(path relative to the KB, stat key) of every card file the loader reads, sorted; None
    when the folder cannot be listed."""
    scan = scan_cards(root, cards_dir)
    return None if scan is None else scan.files()


def dependency_keys(root: Path, rels: list[str]) -> list[tuple[str, str | None]]:
    """(path, stat key) of files an answer read; "missing" for one that is not there, None
    for one modified just now."""
    racy = time.time_ns() - RACY_NS
    found: list[tuple[str, str | None]] = []
    for rel in rels:
        try:
            found.append((rel, stat_key(os.stat(os.path.join(root, rel)), racy)))
        except FileNotFoundError:
            found.append((rel, "missing"))
        except OSError:
            found.append((rel, None))
    return found


def code_stamp() -> str:
    """kb's version and the stat of its source files: an answer kept by other code is not used."""
    package = Path(__file__).resolve().parents[1]
    parts = [__version__, *cache.installed_distributions()]  # a library upgrade can change an answer
    for folder, dirs, names in os.walk(package):
        dirs.sort()
        for name in sorted(names):
            if name.endswith(".py"):
                st = os.stat(os.path.join(folder, name))
                parts.append(f"{folder}/{name}:{st.st_mtime_ns}:{st.st_size}")
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=16).hexdigest()


def answer_key(question: list, candidates: list[tuple[str, str | None]]) -> str | None:
    """The key of an answer about these card files; None when one was modified just now."""
    if any(stat is None for _, stat in candidates):
        return None
    return hashlib.blake2b(json.dumps([code_stamp(), question, candidates]).encode(), digest_size=16).hexdigest()


def card_holders(config: Paths, card_id: str) -> list[str]:
    """The card files that hold `card_id` (from the warm index, brought up to date); [] when the
    cards folder cannot be listed."""
    index = open_index(config)
    if index is None:
        return []
    try:
        return index.holders(card_id)
    finally:
        index.close()


def answers_keepable(root: Path) -> bool:
    """Whether an answer may be kept and reused: not under KB_NO_CACHE, and not when mkdocs.yml
    takes settings from the environment (`!ENV`), which no file stat can see change (outside
    review: KB_ONCALL=other.yaml kept getting the answer for oncall.yaml)."""
    if os.environ.get("KB_NO_CACHE"):
        return False
    try:
        from kb.core.safefile import read_head

        return not _may_read_environment(read_head(root / "mkdocs.yml", 1 << 20), 1 << 20)
    except OSError:
        return False


def _may_read_environment(raw: bytes, limit: int) -> bool:
    """Whether mkdocs.yml may take a value from the environment: a tag that spells ENV once its
    %-escapes are decoded (`!ENV`, `!%45NV`, `!<!ENV>`), any %TAG directive (a handle `!e!`
    makes `!e!NV` the same tag), or a file longer than what was read. Decided from every tag's
    text, not one spelling (outside review: `!%45NV` kept an answer the environment changed)."""
    from urllib.parse import unquote_to_bytes

    if len(raw) >= limit or b"%TAG" in raw:
        return True
    return any(b"ENV" in unquote_to_bytes(tag) for tag in re.findall(rb"![^\s,\[\]{}]*", raw))


def cached_answer(root: Path, question: list, card_id: str) -> str | None:
    """The answer to `question` about card `card_id` kept before (CardIndex.keep_answer), when
    the card files that can hold the id and every other file it read still have the stat they
    were read at. Reads no YAML: for kb.commands.fast_path."""
    found, index = kept_answer(root, question, card_id)
    if index is not None:
        index.close()
    return found


def kept_answer(root: Path, question: list, card_id: str) -> tuple[str | None, CardIndex | None]:
    """cached_answer, and on a miss the index it opened, still open and current, for the caller
    to compute the answer from (and close): one scan of the cards folder per command, not two."""
    from kb.config.mkdocs import read_paths

    if not answers_keepable(root):
        return None, None

    try:
        paths = read_paths(root)
    except OSError:
        return None, None  # the command itself says why mkdocs.yml cannot be read
    index = open_index(paths)
    if index is None:
        return None, None
    try:
        key = answer_key(question, index.candidates(card_id))
        found = index.answer(key, root) if key is not None else None
    except BaseException:
        index.close()
        raise
    if found is not None:
        index.close()
        return found, None
    return None, index


def router_state(root: Path, config: Paths, pages: dict[str, str | None]) -> bool:
    """Whether every router page recorded still has its stat."""
    racy = time.time_ns() - RACY_NS
    for page, key in pages.items():
        if key is None:
            return False
        try:
            if stat_key(os.stat(os.path.join(root, page)), racy) != key:
                return False
        except (FileNotFoundError, NotADirectoryError):
            if key != "missing":  # a link target the router looked for and did not find: still absent
                return False
        except OSError:
            return False
    return bool(pages)


# -- terms --------------------------------------------------------------------------------------
def entry_terms(entry: Entry) -> set[str]:
    from kb.route.terms import index_terms

    return set(index_terms(" ".join([entry.title, entry.summary, *entry.alerts, *entry.symptoms])))


def line_terms(text: str) -> set[str]:
    from kb.route.terms import index_terms

    return set(index_terms(text))


# -- the index ----------------------------------------------------------------------------------
class CardIndex:
    """An open, validated index: every answer it gives is the one the files give now."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def close(self) -> None:
        self.db.close()

    # what kb route reads
    def count(self) -> int:
        return int(self.meta("count") or 0)

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return row[0] if row else None

    def where(self, card_id: str) -> tuple[str | None, int | None, str | None, str] | None:
        """The first routing line naming the card (page, line, text, card path), else its first file."""
        row = self.db.execute(
            "SELECT page, line, text, path FROM lines WHERE card_id = ? ORDER BY ord LIMIT 1", (card_id,)
        ).fetchone()
        if row:
            return row[0], row[1], row[2], row[3]
        row = self.db.execute("SELECT rel FROM files WHERE card_id = ? ORDER BY rel LIMIT 1", (card_id,)).fetchone()
        return (None, None, None, row[0]) if row else None

    def lines_naming(self, name: str) -> list[tuple[str, int, str, str, str]]:
        """(page, line, text, card id, card path) of the routing lines kb.route.terms.line_names
        finds `name` on, in router order: every line kb.route.search.names_alert can find it
        on, and maybe a few more."""
        rows = self.db.execute(
            "SELECT l.page, l.line, l.text, l.card_id, l.path FROM line_names n JOIN lines l ON l.ord = n.ord"
            " WHERE n.name = ? ORDER BY n.ord",
            (name,),
        )
        return rows.fetchall()

    def line_texts(self) -> list[str]:
        """The text of every routing line, in router order."""
        return [row[0] for row in self.db.execute("SELECT text FROM lines ORDER BY ord")]

    def card_naming(self, alert: str) -> str | None:
        """The id of the first card file (in path order) whose triggers name the alert."""
        row = self.db.execute(
            "SELECT f.card_id FROM file_alerts a JOIN files f ON f.rel = a.rel"
            " WHERE a.alert = ? ORDER BY a.rel LIMIT 1",
            (alert,),
        ).fetchone()
        return row[0] if row else None

    def alert_card(self, alert: str) -> str | None:
        """The card an alert leads to: the first router line naming it in backticks, else the first card file."""
        row = self.db.execute(
            "SELECT card_id FROM router_alerts WHERE alert = ? ORDER BY ord LIMIT 1", (alert,)
        ).fetchone()
        return row[0] if row else self.card_naming(alert)

    def known_alerts(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for alert, card_id in self.db.execute("SELECT alert, card_id FROM router_alerts ORDER BY ord"):
            found.setdefault(alert, card_id)
        rows = self.db.execute(
            "SELECT a.alert, f.card_id FROM file_alerts a JOIN files f ON f.rel = a.rel ORDER BY a.rel"
        )
        for alert, card_id in rows:
            found.setdefault(alert, card_id)
        return found

    def cards_with_alert_lower(self, lower: str) -> set[str]:
        rows = self.db.execute(
            "SELECT f.card_id FROM file_alerts a JOIN files f ON f.rel = a.rel WHERE a.lower = ?", (lower,)
        )
        return {row[0] for row in rows}

    def postings(self, term: str) -> array:
        row = self.db.execute("SELECT docs FROM postings WHERE term = ?", (term,)).fetchone()
        found = array("I")
        if row:
            found.frombytes(row[0])
        return found

    def nums_of(self, card_ids: Iterable[str]) -> set[int]:
        found = set()
        for card_id in card_ids:
            row = self.db.execute("SELECT num FROM docs WHERE card_id = ?", (card_id,)).fetchone()
            if row:
                found.add(row[0])
        return found

    def card_ids(self, nums: Iterable[int]) -> dict[int, str]:
        wanted = list(nums)
        found: dict[int, str] = {}
        if len(wanted) > 5000:
            for num, card_id in self.db.execute("SELECT num, card_id FROM docs"):
                found[num] = card_id
            return found
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(self.db.execute(f"SELECT num, card_id FROM docs WHERE num IN ({marks})", chunk).fetchall())
        return found

    # what kb access reads
    def candidates(self, card_id: str) -> list[tuple[str, str | None]]:
        """(path, stat key) of the card files whose raw id is `card_id`, and of every file whose
        id could not be read, in path order: the files that can hold that card."""
        rows = self.db.execute(
            "SELECT rel, key FROM files WHERE card_id = ? OR card_id IS NULL ORDER BY rel", (card_id,)
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def answer(self, key: str, root: Path) -> str | None:
        """A kept answer whose inputs outside the cards (mkdocs.yml, oncall.yaml, membership
        exports) all still have the stat they were read at."""
        row = self.db.execute("SELECT deps, output, seal FROM answers WHERE key = ?", (key,)).fetchone()
        if row is None or not isinstance(row[1], str) or row[2] != _seal(key, row[0], row[1]):
            return None  # a flipped bit in a kept answer is a miss, never a different answer
        try:
            deps = json.loads(row[0])
            if not isinstance(deps, list) or dependency_keys(root, [rel for rel, _ in deps]) != [
                tuple(dep) for dep in deps
            ]:
                return None
        except (ValueError, TypeError):
            return None
        return row[1] if isinstance(row[1], str) else None

    def keep_answer(self, key: str, deps: list[tuple[str, str | None]], output: str) -> None:
        if any(stat is None for _, stat in deps):
            return  # a file modified just now: its stat cannot vouch for what was read
        self.db.execute("COMMIT")
        try:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?)",
                (key, json.dumps(deps), output, time.time_ns(), _seal(key, json.dumps(deps), output)),
            )
            self.db.execute(
                "DELETE FROM answers WHERE key NOT IN (SELECT key FROM answers ORDER BY at DESC LIMIT ?)",
                (ANSWERS_KEPT,),
            )
            self.db.execute("COMMIT")
        except sqlite3.Error:
            self.db.execute("ROLLBACK") if self.db.in_transaction else None
        self.db.execute("BEGIN")

    def holders(self, card_id: str) -> list[str]:
        """The card files whose id is `card_id`, in path order (two or more: KB121)."""
        rows = self.db.execute("SELECT rel FROM files WHERE card_id = ? ORDER BY rel", (card_id,)).fetchall()
        return [row[0] for row in rows]

    def files_of(self, card_id: str) -> list[str]:
        """The card files whose raw id is `card_id`, then every file whose id could not be read."""
        rows = self.db.execute(
            "SELECT rel FROM files WHERE card_id = ? OR card_id IS NULL ORDER BY rel", (card_id,)
        ).fetchall()
        return [row[0] for row in rows]


def _seal(key: str, deps: str, output: str) -> str:
    return hashlib.blake2b(f"{key}\0{deps}\0{output}".encode(), digest_size=16).hexdigest()


def _connect(path: Path | str) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), timeout=30, isolation_level=None)
    db.execute("PRAGMA trusted_schema = OFF")
    return db


def _config_key(config: Paths) -> str:
    return json.dumps(
        [
            FORMAT,
            __version__,
            str(config.root.resolve()),
            config.cards_dir,
            config.router,
            config.references_dir,
            cache.installed_distributions(),  # a PyYAML upgrade can read a card otherwise
        ]
    )


def open_index(config: Paths, known: dict[str, tuple[str | None, Entry | None]] | None = None) -> CardIndex | None:
    """The index of this KB, brought up to date with its files; None when the cards folder
    cannot be listed (the caller computes from the files). `known` gives entries already read
    this run (by kb check): path -> (stat key at the read, entry)."""
    scan = scan_cards(config.root, config.cards_dir)
    if scan is None:
        return None
    if os.environ.get("KB_NO_CACHE"):  # no cache is read or written, this index neither: built for the one run
        db = _connect(":memory:")
        _build(db, config, scan, known)
        return CardIndex(db)
    folder = cache.cache_dir(config.root)
    path = folder / DB_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(path) and not stat.S_ISREG(os.lstat(path).st_mode):
            # a link (to /dev/zero, to someone's file) or a FIFO in its place: never opened, replaced below
            raise OSError(f"{path}: not a regular file")
        db = _connect(path)
        index = _validated(db, config, scan, known)
        if index is not None:
            return index
        db.close()
    except (sqlite3.Error, OSError, ValueError):
        pass
    # damaged, foreign or not writable: build a fresh file beside it and swap it in, else in memory
    _sweep_killed_builds(folder)
    try:
        fresh = folder / f"{DB_NAME}.{os.getpid()}.tmp"
        fresh.unlink(missing_ok=True)
        db = _connect(fresh)
        _build(db, config, scan, known)
        db.close()
        os.replace(fresh, path)
        db = _connect(path)
        index = _validated(db, config, scan, known)
        if index is not None:
            return index
        db.close()
    except (sqlite3.Error, OSError, ValueError):
        pass
    db = _connect(":memory:")
    _build(db, config, scan, known)
    return CardIndex(db)


def _sweep_killed_builds(folder: Path) -> None:
    """Remove the half-built indexes (and their journals) of runs killed while building one: a
    `<DB_NAME>.<pid>.tmp` whose process is gone. The index's own journal is SQLite's, never touched."""
    from kb.core.atomic import process_alive

    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        stem = name.removesuffix("-journal")
        pid = stem[len(DB_NAME) + 1 : -len(".tmp")] if stem.startswith(DB_NAME + ".") and stem.endswith(".tmp") else ""
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            try:
                os.unlink(folder / name)
            except OSError:
                pass  # another run swept it first, or a read-only cache: costs space, never an answer


def _validated(db, config: Paths, scan: CardScan, known) -> CardIndex | None:
    """The index in `db` if it is this KB's and current (updated in place when a few files
    changed), else None. The index returned is read inside one transaction: a concurrent
    update cannot mix into its answers."""
    db.execute("BEGIN")
    meta = dict(db.execute("SELECT k, v FROM meta").fetchall())
    if meta.get("config") != _config_key(config) or meta.get("complete") != "1":
        db.execute("ROLLBACK")
        return None
    pages = json.loads(meta.get("router_pages") or "{}")
    # a file just modified is read again, whatever the digest
    if scan.settled and meta.get("digest") == scan.digest and router_state(config.root, config, pages):
        return CardIndex(db)
    db.execute("ROLLBACK")
    db.execute("BEGIN IMMEDIATE")  # one updater at a time
    try:
        meta = dict(db.execute("SELECT k, v FROM meta").fetchall())
        if meta.get("config") != _config_key(config) or meta.get("complete") != "1":
            db.execute("ROLLBACK")
            return None
        _update(db, config, scan, known, json.loads(meta.get("router_pages") or "{}"))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("BEGIN")
    return CardIndex(db)


def _build(db, config: Paths, scan: CardScan, known) -> None:
    db.executescript(SCHEMA)
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO meta VALUES ('config', ?)", (_config_key(config),))
    _update(db, config, scan, known, {})
    db.execute("INSERT OR REPLACE INTO meta VALUES ('complete', '1')")
    db.execute("COMMIT")


def _routing_lines(config: Paths) -> tuple[list[tuple[str, int, str, str, str]], dict[str, str | None]]:
    from kb.load.router import load_router

    racy = time.time_ns() - RACY_NS  # before the pages are read: a page changed during the parse is racy
    router = load_router(config.root, config.router, config.cards_dir.strip("/"), config.references_dir.strip("/"))
    pages: dict[str, str | None] = {}
    # the pages, the link targets the router looked for (present or not) and mkdocs.yml (markdown_extensions)
    for rel in [*(page.path for page in router.pages), *router.looked_up(), "mkdocs.yml"]:
        try:
            st = os.stat(config.root / rel)
            # changed since the parse began, even with its mtime put back (cp -p moves the ctime): no key
            pages[rel] = stat_key(st, racy) if st.st_ctime_ns < racy else None
        except (FileNotFoundError, NotADirectoryError):
            pages[rel] = "missing"
        except OSError:
            pages[rel] = None
    if not router.pages or router.reads_other_files:
        # no router yet, or an extension that reads files no key lists: look again next time
        pages[config.router] = None
    lines = [
        (line.page, line.line, line.text, link.card_id, link.resolved)
        for line in router.routing_lines()
        if len(line.cards) == 1
        for link in line.cards
        if link.card_id is not None and link.resolved is not None
    ]
    return lines, pages


def _update(db, config: Paths, scan: CardScan, known, pages: dict) -> None:
    """Bring the tables in `db` (inside a write transaction) to the files' state."""
    from kb.route.terms import ROUTER_ALERT, line_names

    affected: set[str] = set()
    full = False
    if not router_state(config.root, config, pages):
        lines, pages = _routing_lines(config)
        db.execute("DELETE FROM lines")
        db.execute("DELETE FROM router_alerts")
        db.execute("DELETE FROM line_names")
        db.executemany("INSERT INTO lines VALUES (?, ?, ?, ?, ?, ?)", [(i, *row) for i, row in enumerate(lines)])
        db.executemany(
            "INSERT INTO router_alerts VALUES (?, ?, ?)",
            [(name, i, row[3]) for i, row in enumerate(lines) for name in ROUTER_ALERT.findall(row[2])],
        )
        db.executemany(
            "INSERT INTO line_names VALUES (?, ?)",
            [(name, i) for i, row in enumerate(lines) for name in sorted(line_names(row[2]))],
        )
        full = True
    known = known or {}
    kept = dict(db.execute("SELECT k, v FROM scan").fetchall())
    before = kept.get("numbers")
    if (
        kept.get("names") == scan.names_digest
        and isinstance(before, bytes)
        and len(before) == len(scan.numbers.tobytes())
    ):
        # the same files as the scan the tables were brought to: those whose stat differs since,
        # and those that had no key then or have none now, without a key or a row for the others
        previous = array("q")
        previous.frombytes(before)
        unsettled = json.loads(kept.get("unsettled") or "[]")
        wanted = sorted({*scan.differing(previous), *scan.unsettled(), *unsettled})
        current = {scan.rel(i): scan.key(i) for i in wanted}
        changed, removed = list(current), []
    else:
        files = scan.files()
        old = dict(db.execute("SELECT rel, key FROM files").fetchall())
        current = dict(files)
        changed = [rel for rel, key in files if key is None or old.get(rel, "\0") != key]
        removed = [rel for rel in old if rel not in current]
        del old, files

    def entry(rel: str) -> Entry | None:
        got = known.get(rel)
        if got is not None and got[0] is not None and got[0] == current[rel]:
            return got[1]
        return read_entry(os.path.join(config.root, rel))

    if full:  # every document is derived again: the files a chunk at a time, in little memory
        _remove_files(db, removed)
        for start in range(0, len(changed), 2000):
            _write_files(db, current, {rel: entry(rel) for rel in changed[start : start + 2000]})
    else:  # a few files: the documents they touch, from their terms before and after
        read = {rel: entry(rel) for rel in changed}
        for rel in (*changed, *removed):
            row = db.execute("SELECT card_id FROM files WHERE rel = ?", (rel,)).fetchone()
            if row and row[0]:
                affected.add(row[0])
        affected.update(found.card_id for found in read.values() if found is not None)
        bags_before = {card_id: _bag(db, card_id) for card_id in affected}
        _remove_files(db, removed)
        _write_files(db, current, read)
    if full:
        _derive_all(db)
    elif affected:
        _derive(db, bags_before)
    db.executemany(
        "INSERT OR REPLACE INTO scan VALUES (?, ?)",
        [
            ("names", scan.names_digest),
            ("numbers", scan.numbers.tobytes()),
            ("unsettled", json.dumps(scan.unsettled())),
        ],
    )
    db.execute("INSERT OR REPLACE INTO meta VALUES ('digest', ?)", (scan.digest,))
    db.execute("INSERT OR REPLACE INTO meta VALUES ('router_pages', ?)", (json.dumps(pages),))
    count = db.execute("SELECT COUNT(*) FROM docs").fetchone()[0]
    db.execute("INSERT OR REPLACE INTO meta VALUES ('count', ?)", (str(count),))


def _remove_files(db, removed: list[str]) -> None:
    db.executemany("DELETE FROM files WHERE rel = ?", ((rel,) for rel in removed))
    db.executemany("DELETE FROM file_alerts WHERE rel = ?", ((rel,) for rel in removed))


def _write_files(db, current: dict[str, str | None], read: dict[str, Entry | None]) -> None:
    db.executemany("DELETE FROM file_alerts WHERE rel = ?", ((rel,) for rel in read))
    db.executemany(
        "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)",
        (
            (rel, current[rel], None, "", "[]")
            if entry is None
            else (rel, current[rel], entry.card_id, " ".join(sorted(entry_terms(entry))), json.dumps(entry.alerts))
            for rel, entry in read.items()
        ),
    )
    db.executemany(
        "INSERT INTO file_alerts VALUES (?, ?, ?)",
        ((alert, alert.lower(), rel) for rel, entry in read.items() if entry is not None for alert in entry.alerts),
    )


def _bag(db, card_id: str) -> set[str]:
    """The terms of a document: its routing lines' and its card files'."""
    bag: set[str] = set()
    for (text,) in db.execute("SELECT text FROM lines WHERE card_id = ?", (card_id,)):
        bag.update(line_terms(text))
    for (terms,) in db.execute("SELECT terms FROM files WHERE card_id = ?", (card_id,)):
        if terms:
            bag.update(terms.split(" "))
    return bag


def _sources(db, card_id: str) -> int:
    lines = db.execute("SELECT COUNT(*) FROM lines WHERE card_id = ?", (card_id,)).fetchone()[0]
    return lines + db.execute("SELECT COUNT(*) FROM files WHERE card_id = ?", (card_id,)).fetchone()[0]


def _derive_all(db) -> None:
    """Every document and every posting, from the files' terms and the routing lines, one
    source at a time (a term's list holds each document once)."""
    db.execute("DELETE FROM docs")
    db.execute("DELETE FROM postings")
    ids = db.execute(
        "SELECT card_id FROM lines UNION SELECT card_id FROM files WHERE card_id IS NOT NULL ORDER BY 1"
    ).fetchall()
    db.executemany("INSERT INTO docs VALUES (?, ?)", ((num, row[0]) for num, row in enumerate(ids)))
    numbers = {row[0]: num for num, row in enumerate(ids)}
    del ids
    postings: dict[str, array] = {}

    def add(num: int, terms: Iterable[str]) -> None:
        for term in terms:
            found = postings.get(term)
            if found is None:
                found = postings[term] = array("I")
            if not found or found[-1] != num:  # sources come in document order: one entry per document
                found.append(num)

    sources = db.execute(
        "SELECT card_id, text, NULL FROM lines UNION ALL SELECT card_id, NULL, terms FROM files"
        " WHERE card_id IS NOT NULL ORDER BY 1"
    )
    for card_id, text, terms in sources:
        num = numbers[card_id]
        add(num, line_terms(text) if text is not None else (terms.split(" ") if terms else ()))
    db.executemany("INSERT INTO postings VALUES (?, ?)", ((t, a.tobytes()) for t, a in postings.items()))


def _derive(db, bags_before: dict[str, set[str]]) -> None:
    """The documents and postings of the card ids whose sources changed."""
    for card_id in sorted(bags_before):
        old = bags_before[card_id]
        row = db.execute("SELECT num FROM docs WHERE card_id = ?", (card_id,)).fetchone()
        alive = _sources(db, card_id) > 0
        bag = _bag(db, card_id) if alive else set()
        if row is None and not alive:
            continue
        if row is None:
            num = (db.execute("SELECT MAX(num) FROM docs").fetchone()[0] or 0) + 1
            db.execute("INSERT INTO docs VALUES (?, ?)", (num, card_id))
            old = set()  # a new document is in no posting yet
        else:
            num = row[0]
            if not alive:
                db.execute("DELETE FROM docs WHERE num = ?", (num,))
        for term in old ^ bag:
            found = array("I")
            got = db.execute("SELECT docs FROM postings WHERE term = ?", (term,)).fetchone()
            if got:
                found.frombytes(got[0])
            members = set(found)
            if term in bag:
                members.add(num)
            else:
                members.discard(num)
            if members:
                db.execute(
                    "INSERT OR REPLACE INTO postings VALUES (?, ?)", (term, array("I", sorted(members)).tobytes())
                )
            else:
                db.execute("DELETE FROM postings WHERE term = ?", (term,))


def index_is_built(config: Paths) -> bool:
    """Whether a complete index for this KB is in the cache (current or not)."""
    path = cache.cache_dir(config.root) / DB_NAME
    if not path.is_file():
        return False
    try:
        db = _connect(path)
        try:
            meta = dict(db.execute("SELECT k, v FROM meta").fetchall())
        finally:
            db.close()
    except sqlite3.Error:
        return False
    return meta.get("config") == _config_key(config) and meta.get("complete") == "1"


def refresh_after_check(root: Path, cards: list, records: dict, started_ns: int, changed: int) -> None:
    """After `kb check` loaded the cards: build the index from what it read when there is none
    (or many files changed), so the first `kb route` or `kb access` after a cold check does
    not read every card again. `records` are the check's per-file records (kb.load.records):
    a card's entry is taken from its validated model only when the stat the check read it at
    is older than the check itself by the racy margin; anything else the index reads itself."""
    from kb.config.mkdocs import read_paths

    try:
        config = read_paths(root)
    except OSError:
        return  # kb check reports mkdocs.yml; route and access refuse until it reads
    if os.environ.get("KB_NO_CACHE") or (index_is_built(config) and changed <= 200):
        return  # up to date or a few files behind: route and access bring it up to date on use
    racy = started_ns - RACY_NS
    known: dict[str, tuple[str | None, Entry | None]] = {}
    for doc in cards:
        record = records.get(doc.path)
        card = doc.model
        if card is None or record is None or not record.stat or record.stat[0] >= racy:
            continue
        mtime, size, ino, ctime = record.stat
        known[doc.path] = (
            f"{mtime}:{size}:{hash((ino, ctime))}",  # as _identity keys it
            Entry(card.id, card.title, tuple(card.triggers.alerts), tuple(card.triggers.symptoms), card.summary),
        )
    index = open_index(config, known)
    if index is not None:
        index.close()
