"""The session store: one SQLite database (WAL mode), the only module that touches it.

Layout
------
``sessions``       one row per session (UTC start, device, profile, rate, status...)
``sample_chunks``  samples in append-only chunks: a float64 little-endian blob of
                   (n, 7) or (n, 10) values in :data:`tracker.schema.RAW_COLUMNS` order.
                   Blobs instead of a row per sample make appends and loads of a one-hour
                   session take milliseconds, not seconds, and keep memory per chunk.
``events``         gaps, reconnects, pain reports, markers: (kind, t_s, JSON data)
``self_reports``   pain 0–10 before and after, free notes
``analyses``       analysis results (events, not per-sample signals) keyed by version
``devices``        devices seen, with their profile

Recording appends in short transactions (:class:`SessionWriter` commits at least every
0.5 s), so ``kill -9`` loses at most the last half second and the session stays
readable. A session whose recording process is gone while its status still says
``recording`` is shown as ``interrupted``.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from . import schema
from .errors import StoreError, ValidationError
from .quality import Quality
from .recording import Recording, RecordingMeta
from .records import Event, SessionInfo

__all__ = ["Store", "SessionInfo", "SessionWriter", "Event", "default_data_dir", "DB_FILENAME"]
# (SessionInfo and Event live in tracker.records, so reports can take them without the store)

DB_FILENAME = "tracker.sqlite"
#: Most samples in one stored chunk (writer and import): bounds the memory that a
#: chunk costs to write or read, whatever the sample rate or write speed.
MAX_CHUNK_SAMPLES = 16_384

def _mag_zeros_to_missing(conn: sqlite3.Connection) -> None:
    """Migration: magnetometer rows that older writers padded with 0 µT become NaN (missing).

    Before schema 5 a batch without magnetometer readings in a session that had them was
    stored as (0, 0, 0) µT. The Earth's field is 25–65 µT, so an exact zero on all three
    axes is never a reading: it is the padding.
    """
    rows = conn.execute("SELECT session_id, chunk, n, data FROM sample_chunks WHERE ncols = 10").fetchall()
    for session_id, chunk, n, blob in rows:
        arr = np.frombuffer(blob, dtype="<f8").reshape(n, 10).copy()
        padded = np.all(arr[:, 7:10] == 0.0, axis=1)
        if padded.any():
            arr[padded, 7:10] = np.nan
            conn.execute("UPDATE sample_chunks SET data=? WHERE session_id=? AND chunk=?",
                         (arr.astype("<f8").tobytes(), session_id, chunk))


# Numbered migrations: index + 1 is the schema version stored in PRAGMA user_version.
# Each is SQL, or a function of the connection for changes SQL cannot make (all run
# inside one transaction per version).
MIGRATIONS: tuple[str | Callable[[sqlite3.Connection], None], ...] = (
    # 1: the first schema
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        started_at TEXT NOT NULL,
        device TEXT NOT NULL,
        profile TEXT NOT NULL,
        nominal_rate_hz REAL,
        placement TEXT NOT NULL,
        notes TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL CHECK (status IN ('recording', 'complete', 'interrupted')),
        has_mag INTEGER NOT NULL DEFAULT 0,
        writer_pid INTEGER,
        writer_host TEXT,
        ended_at TEXT,
        quality_json TEXT
    );
    CREATE TABLE sample_chunks (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        chunk INTEGER NOT NULL,
        t_first_s REAL NOT NULL,
        t_last_s REAL NOT NULL,
        n INTEGER NOT NULL,
        ncols INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (session_id, chunk)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        t_s REAL,
        data_json TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_session ON events (session_id, kind);
    CREATE TABLE self_reports (
        session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
        pain_before INTEGER CHECK (pain_before BETWEEN 0 AND 10),
        pain_after INTEGER CHECK (pain_after BETWEEN 0 AND 10),
        notes TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE analyses (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        analysis_version TEXT NOT NULL,
        created_at TEXT NOT NULL,
        result_json TEXT NOT NULL,
        PRIMARY KEY (session_id, analysis_version)
    );
    """,
    # 2: devices seen, so `tracker record` can reconnect to the last one by name
    """
    CREATE TABLE devices (
        address TEXT PRIMARY KEY,
        name TEXT,
        profile TEXT,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL
    );
    CREATE INDEX sessions_started ON sessions (started_at);
    """,
    # 3: files kept with a session (e.g. the microphone audio of a phone export, for the
    # crack analysis), byte for byte
    """
    CREATE TABLE attachments (
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        media_type TEXT NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (session_id, name)
    );
    """,
    # 4: how each device was worn, as found from the data (a calibration step or a
    # confident session): plain numbers, reused when a later session cannot tell
    """
    CREATE TABLE device_mountings (
        device TEXT PRIMARY KEY,
        q_w REAL NOT NULL,
        q_x REAL NOT NULL,
        q_y REAL NOT NULL,
        q_z REAL NOT NULL,
        confidence REAL NOT NULL CHECK (confidence BETWEEN 0 AND 1),
        method TEXT NOT NULL,
        session_id TEXT REFERENCES sessions(id) ON DELETE SET NULL,
        found_at TEXT NOT NULL
    );
    """,
    # 5: a missing magnetometer reading is stored as missing (NaN), not as 0 µT
    _mag_zeros_to_missing,
)
SCHEMA_VERSION = len(MIGRATIONS)


def default_data_dir() -> Path:
    """``$TRACKER_HOME``, else the platform's user data directory."""
    env = os.environ.get("TRACKER_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("tracker", appauthor=False))


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (killed, not yet reaped) is gone for our purposes.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _translate(exc: sqlite3.Error, path: Path, doing: str) -> StoreError:
    """Turn sqlite errors into one clear line naming the file."""
    msg = str(exc)
    if "disk is full" in msg or "database or disk is full" in msg:
        return StoreError(f"disk full while {doing} in {path}; everything committed before is kept")
    if "not a database" in msg or "malformed" in msg or "disk image" in msg:
        return StoreError(f"{path} is corrupted or not a tracker database ({msg}); run `tracker doctor`")
    if "locked" in msg or "busy" in msg:
        return StoreError(f"{path} is busy (another process holds a write lock) while {doing}")
    if "readonly" in msg or "read-only" in msg:
        return StoreError(f"{path} is read-only; cannot finish {doing}")
    return StoreError(f"database error while {doing} in {path}: {msg}")


class Store:
    """A session store in one SQLite file. Use :meth:`open`.

    Thread-safe for one writer and several readers in one process (a lock serialises
    use of the connection); other processes may read while this one records (WAL).
    """

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.data_dir = path.parent
        self._conn = conn
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, data_dir: Path | str | None = None, *, check_interrupted: bool = True) -> "Store":
        """Open (creating and migrating as needed) the store in ``data_dir``.

        Parameters
        ----------
        data_dir : path, optional
            ``--data-dir``; default :func:`default_data_dir`. Created owner-only (0700).

        Raises
        ------
        StoreError
            When the directory cannot be created or the file is not a valid database.
        """
        directory = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(directory, 0o700)  # health data: owner only, even if it existed
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise StoreError(f"cannot create data directory {str(directory)!r}: {reason}") from exc
        if not directory.is_dir():
            raise StoreError(f"data directory {directory} is not a directory")
        path = directory / DB_FILENAME
        if not path.exists():
            # Create the file owner-only before SQLite does (its -wal/-shm files copy the mode).
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        else:
            try:
                os.chmod(path, 0o600)
            except OSError:
                pass
        if path.stat().st_size and not _looks_like_sqlite(path):
            raise StoreError(f"{path} is corrupted or not a tracker database (bad header); run `tracker doctor`")
        try:
            conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across app crashes
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=10000")
            store = cls(path, conn)
            store._migrate()
            if check_interrupted:
                store.mark_dead_recordings()
        except sqlite3.Error as exc:
            raise _translate(exc, path, "opening the store") from exc
        return store

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this tracker "
                f"({SCHEMA_VERSION}); upgrade tracker"
            )
        while version < SCHEMA_VERSION:
            with self._tx("migrating the schema"):
                # Re-read under the write lock: another process may have migrated meanwhile.
                version = self.schema_version
                if version >= SCHEMA_VERSION:
                    break
                step = MIGRATIONS[version]
                if callable(step):
                    step(self._conn)
                else:
                    for statement in _split_sql(step):
                        self._conn.execute(statement)
                version += 1
                self._conn.execute(f"PRAGMA user_version={version}")

    class _Tx:
        def __init__(self, store: "Store", doing: str) -> None:
            self.store, self.doing = store, doing

        def __enter__(self) -> sqlite3.Connection:
            self.store._lock.acquire()
            try:
                self.store._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                self.store._lock.release()
                raise _translate(exc, self.store.path, self.doing) from exc
            return self.store._conn

        def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> None:
            try:
                if exc_type is None:
                    try:
                        self.store._conn.execute("COMMIT")
                    except sqlite3.Error as err:
                        self.store._conn.execute("ROLLBACK")
                        raise _translate(err, self.store.path, self.doing) from err
                else:
                    self.store._rollback()
                    if isinstance(exc, sqlite3.Error):
                        raise _translate(exc, self.store.path, self.doing) from exc
            finally:
                self.store._lock.release()

    def _rollback(self) -> None:
        # SQLite has already rolled back on some errors (e.g. SQLITE_FULL).
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def _tx(self, doing: str = "writing") -> "Store._Tx":
        return Store._Tx(self, doing)

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise _translate(exc, self.path, "reading") from exc

    # ----------------------------------------------------------------- sessions
    def create_session(self, meta: RecordingMeta, notes: str = "", *, has_mag: bool = False,
                       recording: bool = True) -> str:
        """Create a session (status ``recording``, owned by this process) and return its id."""
        started = meta.started_at.astimezone(timezone.utc)
        with self._tx("creating a session") as conn:
            sid = self._new_session_id(conn, started)
            conn.execute(
                "INSERT INTO sessions (id, started_at, device, profile, nominal_rate_hz, placement,"
                " notes, status, has_mag, writer_pid, writer_host) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (sid, started.isoformat(), meta.device, meta.profile, meta.nominal_rate_hz,
                 meta.placement, notes, "recording", int(has_mag),
                 os.getpid() if recording else None, socket.gethostname()),
            )
        return sid

    @staticmethod
    def _new_session_id(conn: sqlite3.Connection, started: datetime) -> str:
        """A readable, sortable id (start second + random suffix), unique in this store.

        Called inside the write transaction, so two processes cannot pick the same id.
        """
        while True:
            sid = f"{started:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
            if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (sid,)).fetchone() is None:
                return sid

    def mark_dead_recordings(self) -> list[str]:
        """Mark sessions still ``recording`` whose writer process is gone as ``interrupted``."""
        host = socket.gethostname()
        rows = self._query("SELECT id, writer_pid, writer_host FROM sessions WHERE status='recording'")
        dead = [sid for sid, pid, whost in rows
                if pid is None or (whost == host and not _pid_alive(int(pid)))]
        for sid in dead:
            self.finish(sid, "interrupted")
        return dead

    def finish(self, session_id: str, status: str = "complete") -> None:
        """Set the final status (``complete`` or ``interrupted``)."""
        if status not in schema.SESSION_STATUSES:
            raise ValidationError(f"unknown session status {status!r}")
        with self._tx("finishing the session") as conn:
            conn.execute("UPDATE sessions SET status=?, ended_at=? WHERE id=?",
                         (status, _utc_now(), session_id))

    def resolve(self, ref: str) -> str:
        """The session id that ``ref`` names (a full id or a unique prefix; ``latest``)."""
        if ref == "latest":
            rows = self._query("SELECT id FROM sessions ORDER BY started_at DESC, id DESC LIMIT 1")
            if not rows:
                raise StoreError(f"no sessions in {self.path}")
            return rows[0][0]
        rows = self._query("SELECT id FROM sessions WHERE id = ? OR id LIKE ? ORDER BY id",
                           (ref, ref.replace("%", "").replace("_", r"\_") + "%"))
        ids = [r[0] for r in rows]
        if ref in ids:
            return ref
        if not ids:
            raise StoreError(f"no session {ref!r} in {self.path} (see `tracker sessions`)")
        if len(ids) > 1:
            raise StoreError(f"{ref!r} matches {len(ids)} sessions: {', '.join(ids[:5])}"
                             + (" ..." if len(ids) > 5 else ""))
        return ids[0]

    _SESSION_SQL = (
        "SELECT s.id, s.started_at, s.device, s.profile, s.nominal_rate_hz, s.placement, s.notes,"
        " s.status, COALESCE(SUM(c.n), 0), COALESCE(MAX(c.t_last_s) - MIN(c.t_first_s), 0), s.has_mag"
        " FROM sessions s LEFT JOIN sample_chunks c ON c.session_id = s.id"
    )

    @staticmethod
    def _info(row: tuple[Any, ...]) -> SessionInfo:
        return SessionInfo(row[0], datetime.fromisoformat(row[1]), row[2], row[3], row[4], row[5],
                           row[6], row[7], int(row[8]), float(row[9]), bool(row[10]))

    def session(self, session_id: str) -> SessionInfo:
        rows = self._query(self._SESSION_SQL + " WHERE s.id = ? GROUP BY s.id", (session_id,))
        if not rows:
            raise StoreError(f"no session {session_id!r} in {self.path}")
        return self._info(rows[0])

    def sessions(self, since: datetime | None = None) -> list[SessionInfo]:
        """All sessions, oldest first (optionally only those started at/after ``since``)."""
        where = ""
        params: tuple[Any, ...] = ()
        if since is not None:
            where, params = " WHERE s.started_at >= ?", (since.astimezone(timezone.utc).isoformat(),)
        rows = self._query(self._SESSION_SQL + where + " GROUP BY s.id ORDER BY s.started_at, s.id", params)
        return [self._info(r) for r in rows]

    def delete(self, session_id: str) -> None:
        """Delete a session and everything recorded for it."""
        self.session(session_id)
        with self._tx("deleting a session") as conn:
            conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def set_notes(self, session_id: str, notes: str) -> None:
        with self._tx("saving notes") as conn:
            conn.execute("UPDATE sessions SET notes=? WHERE id=?", (notes, session_id))

    # ------------------------------------------------------------------ samples
    def _last_chunk(self, session_id: str) -> tuple[int, float | None, int | None]:
        rows = self._query("SELECT chunk, t_last_s, ncols FROM sample_chunks WHERE session_id=?"
                           " ORDER BY chunk DESC LIMIT 1", (session_id,))
        return (rows[0][0], rows[0][1], rows[0][2]) if rows else (-1, None, None)

    def append(self, session_id: str, batch: Recording) -> None:
        """Append samples in one transaction (times must follow what is stored)."""
        writer = self.writer(session_id, flush_interval_s=0.0)
        writer.append(batch)
        writer.flush()

    def _write_chunks(self, conn: sqlite3.Connection, session_id: str, first_chunk: int,
                      arrays: list[np.ndarray]) -> int:
        chunk = first_chunk
        for arr in arrays:
            conn.execute(
                "INSERT INTO sample_chunks (session_id, chunk, t_first_s, t_last_s, n, ncols, data)"
                " VALUES (?,?,?,?,?,?,?)",
                (session_id, chunk, float(arr[0, 0]), float(arr[-1, 0]), arr.shape[0], arr.shape[1],
                 np.ascontiguousarray(arr, dtype="<f8").tobytes()),
            )
            chunk += 1
        return chunk

    def iter_batches(self, session_id: str, *, meta: RecordingMeta | None = None) -> Iterator[Recording]:
        """Stored samples chunk by chunk (constant memory for any session length)."""
        meta = meta or self.session(session_id).meta
        last = -1
        while True:
            rows = self._query("SELECT chunk, n, ncols, data FROM sample_chunks WHERE session_id=?"
                               " AND chunk > ? ORDER BY chunk LIMIT 16", (session_id, last))
            if not rows:
                return
            for chunk, n, ncols, blob in rows:
                yield Recording.from_array(
                    _with_mag_if_complete(_blob_array(blob, n, ncols, session_id, chunk)), meta)
                last = chunk

    def load_array(self, session_id: str) -> np.ndarray:
        """All samples as one (N, 7|10) float64 array (fast path, no validation).

        The magnetometer columns are NaN where its readings are missing.
        """
        rows = self._query("SELECT chunk, n, ncols, data FROM sample_chunks WHERE session_id=?"
                           " ORDER BY chunk", (session_id,))
        if not rows:
            return np.empty((0, 7))
        return _join_samples([_blob_array(b, n, c, session_id, k) for k, n, c, b in rows])

    def load_recording(self, session_id: str) -> Recording:
        """The whole session as a validated :class:`Recording` (with the magnetometer when
        it was read throughout).

        Raises
        ------
        StoreError
            When the session has no samples yet.
        """
        info = self.session(session_id)
        data = self.load_array(session_id)
        if data.shape[0] == 0:
            raise StoreError(f"session {session_id} has no samples")
        return Recording.from_array(_with_mag_if_complete(data), info.meta)

    def import_recording(self, rec: Recording, notes: str = "", *,
                         attachments: Sequence[tuple[str, str, bytes]] = ()) -> str:
        """Store a whole recording as one complete session, atomically.

        ``attachments``: ``(name, media_type, data)`` files kept with the session
        (see :meth:`attachments`).
        """
        started = rec.meta.started_at.astimezone(timezone.utc)
        data = rec.to_array()
        parts = [data[i:i + MAX_CHUNK_SAMPLES] for i in range(0, len(data), MAX_CHUNK_SAMPLES)]
        with self._tx("importing a recording") as conn:
            sid = self._new_session_id(conn, started)
            conn.execute(
                "INSERT INTO sessions (id, started_at, device, profile, nominal_rate_hz, placement,"
                " notes, status, has_mag, ended_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (sid, started.isoformat(), rec.meta.device, rec.meta.profile, rec.meta.nominal_rate_hz,
                 rec.meta.placement, notes, "complete", int(rec.has_mag), _utc_now()),
            )
            self._write_chunks(conn, sid, 0, parts)
            for name, media_type, blob in attachments:
                conn.execute("INSERT OR REPLACE INTO attachments (session_id, name, media_type, data)"
                             " VALUES (?,?,?,?)", (sid, name, media_type, bytes(blob)))
        self.set_quality(sid, recording_quality(rec))
        return sid

    def attachments(self, session_id: str) -> list[tuple[str, str, int]]:
        """Files kept with a session: ``(name, media_type, size in bytes)``."""
        rows = self._query("SELECT name, media_type, length(data) FROM attachments WHERE session_id=?"
                           " ORDER BY name", (session_id,))
        return [(str(n), str(m), int(s)) for n, m, s in rows]

    def attachment_data(self, session_id: str, name: str) -> bytes:
        """The bytes of one kept file; :class:`StoreError` when there is none by that name."""
        rows = self._query("SELECT data FROM attachments WHERE session_id=? AND name=?", (session_id, name))
        if not rows:
            raise StoreError(f"session {session_id} has no attachment {name!r}")
        return bytes(rows[0][0])

    def writer(self, session_id: str, *, flush_interval_s: float = 0.5) -> "SessionWriter":
        """A buffered appender for live recording; see :class:`SessionWriter`."""
        return SessionWriter(self, session_id, flush_interval_s)

    # ------------------------------------------------------------------- events
    def add_event(self, session_id: str, kind: str, t_s: float | None = None, /, **data: Any) -> None:
        with self._tx("adding an event") as conn:
            conn.execute("INSERT INTO events (session_id, kind, t_s, data_json) VALUES (?,?,?,?)",
                         (session_id, kind, t_s, json.dumps(data)))

    def events(self, session_id: str, kind: str | None = None) -> list[Event]:
        sql = "SELECT kind, t_s, data_json FROM events WHERE session_id=?"
        params: tuple[Any, ...] = (session_id,)
        if kind is not None:
            sql, params = sql + " AND kind=?", (session_id, kind)
        rows = self._query(sql + " ORDER BY COALESCE(t_s, -1), id", params)
        return [Event(k, t, json.loads(d)) for k, t, d in rows]

    # ------------------------------------------------------- quality and pain
    def set_quality(self, session_id: str, quality: Quality) -> None:
        with self._tx("saving data quality") as conn:
            conn.execute("UPDATE sessions SET quality_json=? WHERE id=?",
                         (json.dumps(quality.to_json(), allow_nan=False, default=_json_default),
                          session_id))

    def quality(self, session_id: str) -> Quality:
        """The session's stored data quality; computed from its samples when none was stored
        (a recording that was cut off before it could save one)."""
        rows = self._query("SELECT quality_json FROM sessions WHERE id=?", (session_id,))
        if rows and rows[0][0]:
            return Quality.from_json(json.loads(rows[0][0]))
        info = self.session(session_id)
        data = self.load_array(session_id)
        return Quality.of_times(data[:, 0], nominal_rate_hz=info.nominal_rate_hz)

    def set_self_report(self, session_id: str, pain_before: int | None = None,
                        pain_after: int | None = None, notes: str | None = None) -> None:
        """Record self-reported pain (0–10) before/after and notes; None leaves a field as is."""
        for name, value in (("pain_before", pain_before), ("pain_after", pain_after)):
            if value is not None and not (isinstance(value, int) and 0 <= value <= 10):
                raise ValidationError(f"{name} must be an integer 0–10, got {value!r}")
        current = self.self_report(session_id)
        merged = {
            "pain_before": current["pain_before"] if pain_before is None else pain_before,
            "pain_after": current["pain_after"] if pain_after is None else pain_after,
            "notes": current["notes"] if notes is None else notes,
        }
        with self._tx("saving the self-report") as conn:
            conn.execute(
                "INSERT INTO self_reports (session_id, pain_before, pain_after, notes) VALUES (?,?,?,?)"
                " ON CONFLICT(session_id) DO UPDATE SET pain_before=excluded.pain_before,"
                " pain_after=excluded.pain_after, notes=excluded.notes",
                (session_id, merged["pain_before"], merged["pain_after"], merged["notes"]),
            )

    def self_report(self, session_id: str) -> dict[str, Any]:
        rows = self._query("SELECT pain_before, pain_after, notes FROM self_reports WHERE session_id=?",
                           (session_id,))
        if not rows:
            return {"pain_before": None, "pain_after": None, "notes": ""}
        return {"pain_before": rows[0][0], "pain_after": rows[0][1], "notes": rows[0][2]}

    # ------------------------------------------------------------------ devices
    def remember_device(self, address: str, name: str | None, profile: str | None) -> None:
        now = _utc_now()
        with self._tx("remembering a device") as conn:
            conn.execute(
                "INSERT INTO devices (address, name, profile, first_seen, last_seen) VALUES (?,?,?,?,?)"
                " ON CONFLICT(address) DO UPDATE SET name=excluded.name, profile=excluded.profile,"
                " last_seen=excluded.last_seen", (address, name, profile, now, now))

    def devices(self) -> list[dict[str, Any]]:
        rows = self._query("SELECT address, name, profile, first_seen, last_seen FROM devices"
                           " ORDER BY last_seen DESC")
        return [dict(zip(("address", "name", "profile", "first_seen", "last_seen"), r)) for r in rows]

    def set_device_mounting(self, device: str, q_sensor_body: Sequence[float], *, confidence: float,
                            method: str, session_id: str | None = None) -> None:
        """Remember how ``device`` was worn: the mounting quaternion (w, x, y, z; body
        axes in sensor coordinates), how sure the analysis was (0–1) and how it found it."""
        q = np.asarray(q_sensor_body, dtype=np.float64).ravel()
        if q.size != 4 or not np.all(np.isfinite(q)) or abs(float(np.linalg.norm(q)) - 1.0) > 1e-3:
            raise ValidationError(f"mounting of {device!r} must be a unit quaternion (w, x, y, z), got {q.tolist()}")
        if not 0.0 <= confidence <= 1.0:
            raise ValidationError(f"mounting confidence must be in [0, 1], got {confidence}")
        with self._tx("remembering the device's mounting") as conn:
            conn.execute(
                "INSERT OR REPLACE INTO device_mountings (device, q_w, q_x, q_y, q_z, confidence,"
                " method, session_id, found_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (device, *(float(v) for v in q), float(confidence), method, session_id, _utc_now()))

    def device_mounting(self, device: str) -> dict[str, Any] | None:
        """The mounting remembered for ``device`` (see :meth:`set_device_mounting`), or None."""
        rows = self._query("SELECT q_w, q_x, q_y, q_z, confidence, method, session_id, found_at"
                           " FROM device_mountings WHERE device=?", (device,))
        if not rows:
            return None
        r = rows[0]
        return {"q_sensor_body": [float(v) for v in r[:4]], "confidence": float(r[4]),
                "method": r[5], "session_id": r[6], "found_at": r[7]}

    # ----------------------------------------------------------------- analyses
    def save_analysis(self, session_id: str, *, version: str, result_json: dict[str, Any]) -> None:
        """Keep an analysis result (JSON) under its analysis version, replacing one of that version."""
        payload = json.dumps(result_json, allow_nan=True, default=_json_default)
        with self._tx("saving the analysis") as conn:
            conn.execute(
                "INSERT OR REPLACE INTO analyses (session_id, analysis_version, created_at, result_json)"
                " VALUES (?,?,?,?)", (session_id, version, _utc_now(), payload))

    def load_analysis(self, session_id: str, version: str) -> dict[str, Any] | None:
        """The stored analysis result (JSON) of this version, or None (then analyse again)."""
        rows = self._query("SELECT result_json FROM analyses WHERE session_id=? AND analysis_version=?",
                           (session_id, version))
        return json.loads(rows[0][0]) if rows else None

    # ------------------------------------------------------------------- health
    def check(self) -> list[str]:
        """Problems found by SQLite's integrity check and our own invariants ([] = healthy)."""
        problems = [r[0] for r in self._query("PRAGMA integrity_check") if r[0] != "ok"]
        for sid, chunk, n, ncols, size in self._query(
                "SELECT session_id, chunk, n, ncols, length(data) FROM sample_chunks"):
            if size != n * ncols * 8:
                problems.append(f"session {sid} chunk {chunk}: {size} bytes, expected {n * ncols * 8}")
        return problems


class SessionWriter:
    """Buffered, append-only writer for one recording session.

    ``append`` keeps samples in memory and commits them as one chunk when
    ``flush_interval_s`` has passed since the last commit; call :meth:`tick` from a
    timer so a quiet stream is still committed within the interval. Events are
    written with the next flush, in the same transaction as the samples they follow.
    """

    def __init__(self, store: Store, session_id: str, flush_interval_s: float = 0.5) -> None:
        self.store = store
        self.session_id = session_id
        self.flush_interval_s = flush_interval_s
        self._pending: list[np.ndarray] = []
        self._pending_samples = 0
        self._pending_events: list[tuple[str, float | None, dict[str, Any]]] = []
        chunk, last_t, _ncols = store._last_chunk(session_id)
        self._next_chunk = chunk + 1
        self._last_t_s = last_t
        self._last_flush = time.monotonic()
        self.samples_written = 0

    @property
    def last_t_s(self) -> float | None:
        return self._last_t_s

    def append(self, batch: Recording) -> None:
        """Queue samples; raises :class:`ValidationError` if they go back in time."""
        if len(batch) == 0:
            return
        if self._last_t_s is not None and batch.t_s[0] <= self._last_t_s:
            raise ValidationError(
                f"batch starts at t={batch.t_s[0]:.6f} s, not after the last stored sample "
                f"t={self._last_t_s:.6f} s (session {self.session_id})")
        arr = batch.to_array()
        self._pending.append(arr)
        self._pending_samples += len(arr)
        self._last_t_s = float(arr[-1, 0])
        if self._pending_samples >= MAX_CHUNK_SAMPLES:
            self.flush()
        else:
            self.tick()

    def add_event(self, kind: str, t_s: float | None = None, /, **data: Any) -> None:
        self._pending_events.append((kind, t_s, data))
        self.tick()

    def tick(self) -> bool:
        """Commit if the flush interval has passed; returns whether it committed."""
        if time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()
            return True
        return False

    def flush(self) -> None:
        """Commit everything pending now."""
        self._last_flush = time.monotonic()
        if not self._pending and not self._pending_events:
            return
        data = _join_samples(self._pending) if self._pending else None
        with self.store._tx("recording samples") as conn:
            if data is not None:
                self._next_chunk = self.store._write_chunks(conn, self.session_id, self._next_chunk, [data])
            for kind, t_s, payload in self._pending_events:
                conn.execute("INSERT INTO events (session_id, kind, t_s, data_json) VALUES (?,?,?,?)",
                             (self.session_id, kind, t_s, json.dumps(payload, default=_json_default)))
        # Only forget what is committed: a failed commit (disk full) keeps the buffer.
        self.samples_written += 0 if data is None else len(data)
        self._pending.clear()
        self._pending_samples = 0
        self._pending_events.clear()

    def close(self, status: str = "complete") -> None:
        """Flush and set the session's final status."""
        try:
            self.flush()
        finally:
            self.store.finish(self.session_id, status)


def recording_quality(rec: Recording) -> Quality:
    """Data-quality figures of a recording: achieved rate, gaps, estimated lost samples."""
    return Quality.of_times(rec.t_s, nominal_rate_hz=rec.meta.nominal_rate_hz)


def _join_samples(parts: list[np.ndarray]) -> np.ndarray:
    """Concatenate (n, 7|10) sample arrays; where the magnetometer is missing from some,
    its columns are NaN (missing), never a made-up reading."""
    if len({p.shape[1] for p in parts}) == 1:
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
    return np.concatenate([p if p.shape[1] == 10 else np.hstack([p, np.full((len(p), 3), np.nan)])
                           for p in parts])


def _with_mag_if_complete(data: np.ndarray) -> np.ndarray:
    """The samples for a :class:`Recording`: the magnetometer only where it is never missing
    (the analysis then uses it; otherwise the session is analysed without it)."""
    if data.shape[1] == 10 and np.isnan(data[:, 7:10]).any():
        return data[:, :7]
    return data


def _blob_array(blob: bytes, n: int, ncols: int, session_id: str, chunk: int) -> np.ndarray:
    if len(blob) != n * ncols * 8:
        raise StoreError(f"session {session_id}: sample chunk {chunk} is damaged "
                         f"({len(blob)} bytes, expected {n * ncols * 8}); run `tracker doctor`")
    return np.frombuffer(blob, dtype="<f8").reshape(n, ncols)


def _looks_like_sqlite(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(16) == b"SQLite format 3\x00"


def _split_sql(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, datetime):
        return obj.isoformat()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


__all__ += ["recording_quality", "SCHEMA_VERSION", "MIGRATIONS"]
