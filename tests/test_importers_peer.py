"""Real exports of other people's apps (../shared/data/peerfiles/) read as their apps document.

Expected values are computed here from the raw files with the csv module (not with
tracker's readers), following each app's documentation: Sensor Logger (UNITS.md,
COORDINATES.md, CROSSPLATFORM.md: ``time`` in ns since the epoch, m/s², rad/s, µT; iOS
acceleration and gravity negated unless ``standardisation``), phyphox (seconds from the
run start, ``meta/time.csv`` START = wall clock of experiment time 0, SI units).
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from tracker.errors import ImportFormatError, TrackerError
from tracker.importers import read_export

_REPO = Path(__file__).resolve().parents[1]
_CANDIDATES = [Path(os.environ["TRACKER_PEERFILES_DIR"])] if os.environ.get("TRACKER_PEERFILES_DIR") else []
_CANDIDATES += [_REPO.parent / "shared" / "data" / "peerfiles", _REPO.parent.parent / "shared" / "data" / "peerfiles"]
PEER = next((p for p in _CANDIDATES if p.is_dir()), None)
pytestmark = pytest.mark.skipif(
    PEER is None, reason="real peer exports absent (../shared/data/peerfiles or $TRACKER_PEERFILES_DIR)")
G = 9.80665


def _rows(path: Path, member: str | None = None) -> tuple[list[str], np.ndarray]:
    text = zipfile.ZipFile(path).read(member).decode() if member else path.read_text(encoding="utf-8-sig")
    first = text.split("\n", 1)[0]
    sep = "\t" if "\t" in first else ";" if ";" in first else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    header = [h.strip() for h in rows[0]]
    return header, np.array([[float(c.replace(",", ".")) for c in r] for r in rows[1:] if r], dtype=float)


def _xyz(header: list[str], data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = data[:, header.index("time")] * 1e-9
    return t, data[:, [header.index(a) for a in "xyz"]]


SENSOR_LOGGER = [
    # (path, zip?, acc source, negate (from Metadata), device, has mag)
    ("sensorlogger/lynch1206-ios-1.10.4/2022-09-16_11-15-46.zip", True, "split", True, "iPhone 12 mini", False),
    ("sensorlogger/azyfen-pdr/inhand-20-steps-Cxh", False, "split", True, "iPhone 12", True),
    ("sensorlogger/azyfen-pdr/inhand-20-steps-Zyf", False, "split", False, "22041211AC", True),
    ("sensorlogger/azyfen-pdr/inhand-28-steps-Ido", False, "split", True, "iPhone", False),
    ("sensorlogger/igorfreire-android-1.60/bom", False, "total", False, "SM-S721B", False),
]


def _sl_file(root: Path, is_zip: bool, name: str) -> tuple[list[str], np.ndarray]:
    return _rows(root, f"{name}.csv") if is_zip else _rows(root / f"{name}.csv")


@pytest.mark.parametrize(("rel", "is_zip", "acc_from", "negate", "device", "mag"), SENSOR_LOGGER,
                         ids=[c[0].split("/", 1)[1] for c in SENSOR_LOGGER])
def test_sensor_logger_real_exports(rel: str, is_zip: bool, acc_from: str, negate: bool, device: str,
                                    mag: bool) -> None:
    root = PEER / rel
    res = read_export(root)
    rec = res.recording
    if acc_from == "total":
        acc_t, acc = _xyz(*_sl_file(root, is_zip, "TotalAcceleration"))
    else:
        acc_t, user = _xyz(*_sl_file(root, is_zip, "Accelerometer"))
        grav_t, grav = _xyz(*_sl_file(root, is_zip, "Gravity"))
        assert np.array_equal(acc_t, grav_t)  # the app writes both on one clock
        acc = user + grav
    gyr_t, gyr = _xyz(*_sl_file(root, is_zip, "Gyroscope"))
    spans = [gyr_t]
    if mag:
        spans.append(_xyz(*_sl_file(root, is_zip, "Magnetometer"))[0])
    keep = (acc_t >= max(s[0] for s in spans)) & (acc_t <= min(s[-1] for s in spans))
    keep &= np.concatenate([[True], np.diff(acc_t) > 0])
    assert len(rec) == keep.sum()
    assert rec.meta.device == device and rec.meta.profile == "sensor-logger" and res.source == "sensor-logger"
    assert rec.has_mag == mag
    # Start: the first kept sample's `time` (ns since the epoch), to the microsecond.
    assert rec.meta.started_at.timestamp() == pytest.approx(acc_t[keep][0], abs=2e-6)
    assert rec.achieved_rate_hz == pytest.approx(1 / np.median(np.diff(acc_t[keep])), rel=1e-6)
    # Units and signs: m/s², iOS negated to Android's (specific force) convention, gyro as written.
    sign = -1.0 if negate else 1.0
    np.testing.assert_allclose(rec.acc_m_s2, sign * acc[keep], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(rec.gyr_rad_s[0], [np.interp(acc_t[keep][0], gyr_t, gyr[:, k]) for k in range(3)],
                               atol=1e-9)
    assert 0.9 * G < np.median(np.linalg.norm(rec.acc_m_s2, axis=1)) < 1.1 * G
    assert any("Metadata.csv: platform" in n for n in res.notes)
    assert not res.warnings  # held in hand, face up: a plausible posture


def test_same_walk_from_iphone_and_android_gives_the_same_gravity_direction() -> None:
    # AZyfen/PDR recorded one walk with an iPhone (standardisation off) and an Android phone.
    ios = read_export(PEER / "sensorlogger/azyfen-pdr/inhand-20-steps-Cxh").recording
    android = read_export(PEER / "sensorlogger/azyfen-pdr/inhand-20-steps-Zyf").recording
    gi, ga = np.median(ios.acc_m_s2, axis=0), np.median(android.acc_m_s2, axis=0)
    assert gi[2] > 9 and ga[2] > 9  # phones face up in the hand: +g on z (specific force)
    assert np.dot(gi, ga) / np.linalg.norm(gi) / np.linalg.norm(ga) > 0.95
    assert abs((ios.meta.started_at - android.meta.started_at).total_seconds()) < 1.0


def test_sensor_logger_audio_kept_and_empty_files_noted() -> None:
    path = PEER / "sensorlogger/lynch1206-ios-1.10.4/2022-09-16_11-15-46.zip"
    res = read_export(path)
    (audio,) = res.attachments
    assert audio.name == "Microphone.mp4" and audio.media_type == "audio/mp4"
    assert audio.data == zipfile.ZipFile(path).read("Microphone.mp4")
    assert any("Annotation.csv: the file is empty" in n for n in res.notes)
    assert any("Orientation.csv" in n and "skipped" in n for n in res.notes)


def test_old_schema_clock_mismatch_is_said() -> None:
    # Metadata version 2 (2021): columns time,z,y,x; the motion clock disagrees with the
    # local recording time by a non-quarter-hour offset: the session says so.
    res = read_export(PEER / "sensorlogger/azyfen-pdr/inhand-28-steps-Ido")
    assert any("do not match Metadata's local recording time" in n for n in res.notes)


def _acc_only_expected(rel: str) -> tuple[np.ndarray, np.ndarray]:
    """Wall-clock times (s since the epoch) and specific force (m/s²) as each app documents them."""
    path = PEER / rel
    if rel.endswith("2022-09-09_13-14-55.zip"):  # iOS, no standardisation (Metadata): negated
        acc_t, user = _xyz(*_rows(path, "Accelerometer.csv"))
        grav_t, grav = _xyz(*_rows(path, "Gravity.csv"))
        assert np.array_equal(acc_t, grav_t)
        return acc_t, -(user + grav)
    if rel.endswith("2023-11-24_07-25-54.zip"):  # Android: TotalAcceleration as written
        return _xyz(*_rows(path, "TotalAcceleration.csv"))
    if rel.startswith("phyphox/"):  # experiment time + meta/time.csv START, SI, with g
        _, data = _rows(path, "Raw Data.csv")
        start = next(r for r in csv.reader(io.StringIO(zipfile.ZipFile(path).read("meta/time.csv").decode()))
                     if r[0] == "START")
        return data[:, 0] + float(start[2]) - float(start[1]), data[:, 1:4]
    rows = list(csv.reader(io.StringIO(path.read_text())))  # MetaBase: epoch ms, g
    assert rows[0][0] == "epoc (ms)" and rows[0][3:6] == ["x-axis (g)", "y-axis (g)", "z-axis (g)"]
    data = np.array([[float(r[0])] + [float(c) for c in r[3:6]] for r in rows[1:] if r])
    return data[:, 0] * 1e-3, data[:, 1:4] * G


ACC_ONLY = [
    # (path, device, source, gyro hint in the note)
    ("sensorlogger/lynch1206-ios-1.10.4/2022-09-09_13-14-55.zip", "iPhone 12 mini", "sensor-logger", "Gyroscope"),
    ("sensorlogger/malimszen-android-1.26/2023-11-24_07-25-54.zip", "SM-N986B", "sensor-logger", "Gyroscope"),
    ("phyphox/ckenz0-android-acc-with-g/Acelerao com g 2023-09-25 17-36-23.zip", "samsung SM-G780G", "phyphox",
     "New simple experiment"),
    ("other/chenliseu-metabase/Accelerometer.csv", "MetaMotion (MetaBase)", "metabase", "Gyroscope"),
]


@pytest.mark.parametrize(("rel", "device", "source", "hint"), ACC_ONLY, ids=[c[0].split("/")[1] for c in ACC_ONLY])
def test_accelerometer_only_exports_import_as_gravity_only_sessions(rel: str, device: str, source: str,
                                                                     hint: str) -> None:
    """No gyroscope: imported as a Polar H10 session is (zeros), saying what it gives."""
    from tracker.schema import NO_GYRO_NOTE
    from tracker.signal.process import process_session

    res = read_export(PEER / rel)
    rec = res.recording
    t, acc = _acc_only_expected(rel)
    keep = np.concatenate([[True], np.diff(t) > 0])  # repeated time stamps: the first is kept
    assert len(rec) == keep.sum() and res.source == source and rec.meta.profile == source
    assert rec.meta.device == device and res.start_source == "file"
    assert rec.meta.started_at.timestamp() == pytest.approx(t[0], abs=2e-6)
    np.testing.assert_allclose(rec.t_s, t[keep] - t[0], atol=2e-6)  # (wall-clock float precision)
    assert rec.achieved_rate_hz == pytest.approx(1 / np.median(np.diff(t[keep])), rel=1e-4)
    np.testing.assert_allclose(rec.acc_m_s2, acc[keep], rtol=1e-12, atol=1e-9)
    assert not rec.has_gyro and not rec.gyr_rad_s.any()
    (note,) = [n for n in res.notes if n.startswith(NO_GYRO_NOTE)]
    assert hint in note
    assert not res.warnings  # gravity at rest: a plausible posture
    ana = process_session(rec)
    assert ana.summary.orientation.mode == "gravity" and not ana.summary.angles_available.axial_rotation
    assert not [r for r in ana.reps if r.plane == "axial_rotation"]
    axial = ana.signals["axial_rotation_deg"].to_numpy()
    assert np.isnan(axial).all()  # unseen, not zero: each starts upright / face up


@pytest.mark.parametrize(("rel", "message"), [
    ("sensorlogger/bennyjhui-imu-data", r"gravity removed.*Record with Gravity \(or Total Acceleration\)"),
    ("phyphox/raltm2e-ios-linear/Acceleration without g 2024-03-17 19-49-39",
     r"only 'Linear Acceleration'.*Acceleration with g"),
])
def test_exports_without_gravity_are_refused_saying_what_to_export(rel: str, message: str) -> None:
    with pytest.raises(ImportFormatError, match=message) as err:
        read_export(PEER / rel)
    assert str(PEER / rel) in str(err.value)


PHYPHOX = [
    # (folder, acc file, gyro file, device, has meta)
    ("phyphox/kartof0nix-ios-simple/tab-622a983", "Accelerometer.csv", "Gyroscope.csv", "Apple iPhone13,4", True),
    ("phyphox/kartof0nix-ios-simple/semicolon-cd58a79", "Accelerometer.csv", "Gyroscope.csv", "Apple iPhone13,4", True),
    ("phyphox/trobb20-ios-simple", "Accelerometer.csv", "Gyroscope.csv", "phone (phyphox)", False),
    ("phyphox/shantanu-custom/uni", "Acceleration.csv", "Gyroscope.csv", "Apple iPhone14,5", True),
]


@pytest.mark.parametrize(("rel", "acc_name", "gyr_name", "device", "has_meta"), PHYPHOX,
                         ids=[c[0].split("/", 1)[1] for c in PHYPHOX])
def test_phyphox_real_exports(rel: str, acc_name: str, gyr_name: str, device: str, has_meta: bool) -> None:
    root = PEER / rel
    res = read_export(root)
    rec = res.recording
    _, acc = _rows(root / acc_name)
    _, gyr = _rows(root / gyr_name)
    keep = (acc[:, 0] >= gyr[0, 0]) & (acc[:, 0] <= gyr[-1, 0])
    assert len(rec) == keep.sum() and rec.meta.device == device and res.source == "phyphox"
    np.testing.assert_allclose(rec.acc_m_s2, acc[keep, 1:4], rtol=1e-12)  # m/s², no sign change
    assert rec.achieved_rate_hz == pytest.approx(1 / np.median(np.diff(acc[keep, 0])), rel=1e-6)
    assert 0.9 * G < np.median(np.linalg.norm(rec.acc_m_s2, axis=1)) < 1.1 * G
    if has_meta:
        text = (root / "meta" / "time.csv").read_text()
        sep = "\t" if "\t" in text else ";" if ";" in text.split("\n")[0] else ","
        start = next(r for r in csv.reader(io.StringIO(text), delimiter=sep) if r[0] == "START")
        wall = float(start[2].replace(",", ".")) + acc[keep, 0][0] - float(start[1].replace(",", "."))
        assert rec.meta.started_at.timestamp() == pytest.approx(wall, abs=2e-6)
        assert res.start_source == "file"
    else:
        assert res.start_source == "import time"
        assert any("--start" in n for n in res.notes)


def test_phyphox_linear_file_beside_acceleration_with_g_is_skipped_with_a_note() -> None:
    res = read_export(PEER / "phyphox/trobb20-ios-simple")
    assert any("Raw.csv" in n and "linear acceleration" in n for n in res.notes)


def test_phyphox_start_override_and_unrelated_sheets() -> None:
    when = datetime(2024, 5, 1, 7, 30, tzinfo=timezone.utc)
    res = read_export(PEER / "phyphox/shantanu-custom/uni", start=when)
    assert res.recording.meta.started_at == when and res.start_source == "--start"
    res = read_export(PEER / "phyphox/shantanu-custom/uni")
    assert any("GPS.csv" in n for n in res.notes) and any("Pressure.csv" in n for n in res.notes)


def test_polar_sdk_control_point_vectors_decode() -> None:
    """Polar SDK's own control-point responses (pmd_vectors.json), incl. 0xFF padding."""
    import json

    from tracker.profiles import polar as pl

    vectors = json.loads((PEER / "polar-sdk" / "pmd_vectors.json").read_text())["vectors"]
    cps = [v for v in vectors if v["kind"] == "cp"]
    assert cps
    for v in cps:
        r = pl.decode_pmd_response(bytes.fromhex(v["hex"]))
        exp = v["expected"]
        assert (r.op, r.mtype, r.status, r.more) == (exp["op"], exp["mtype"], exp["status"], exp["more"]), v["id"]
    for v in (v for v in vectors if v["kind"] == "settings"):
        got = pl.parse_settings(bytes.fromhex(v["hex"]))
        assert {str(k): [int(x) for x in vals] for k, vals in got.items()} == v["expected"], v["id"]
    # Padding only at the end: an unknown id before real settings is still an error.
    with pytest.raises(Exception, match="unknown setting id 255"):
        pl.parse_settings(bytes.fromhex("FF 01 00 00 01 34 00"))


def test_low_rate_editor_experiment_is_imported_with_a_warning() -> None:
    res = read_export(PEER / "phyphox/shantanu-custom/uni")
    assert res.recording.achieved_rate_hz == pytest.approx(5.0, rel=0.01)
    assert any("achieved rate 5.0 Hz" in w for w in res.warnings)


def _importable(root: Path) -> list[Path]:
    """Every file of the peer exports that imports on its own (a user may pick one file)."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        try:
            rec = read_export(path).recording
        except TrackerError:  # not an export on its own (meta files, GPS, refused ones)
            continue
        if len(rec) >= 100:
            found.append(path)
    return found


def test_no_real_export_has_a_possible_crack() -> None:
    # Phones in hands and pockets, turned and tapped: nothing here is a joint. Read file
    # by file, so an accelerometer picked alone (no gyroscope) is judged too.
    from tracker import api

    paths = _importable(PEER)
    assert len(paths) >= 8
    blind = 0
    for path in paths:
        rec = api.read(path)
        blind += not rec.has_gyro
        cracks = api.analyze(rec).cracks
        assert not cracks, (path.relative_to(PEER), [round(c.t_s, 2) for c in cracks])
    assert blind >= 3  # accelerometer-only files are among them
