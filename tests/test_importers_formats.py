"""Phone/logger exports written here from the apps' documented formats, with known truth.

A phone worn upright (top up: +y up, specific force +g on y at rest) turns slowly; the
files are written as each app documents it (units, time bases, column names, CSV
flavours, iOS sign convention) and must import back to the truth.
"""

from __future__ import annotations

import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tracker.cli import cli
from tracker.errors import ImportFormatError
from tracker.importers import read_export
from tracker.store import Store

G = 9.80665
T0_NS = 1_714_548_612_345_678_000  # 2024-05-01T07:30:12.345678Z
RATE = 100.0


def _truth(n: int = 600, upright: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Times (s), gravity in the phone frame, user acceleration, gyro: a slow roll about x."""
    t = np.arange(n) / RATE
    angle = 0.3 * np.sin(2 * np.pi * 0.2 * t)
    rate = 0.3 * 2 * np.pi * 0.2 * np.cos(2 * np.pi * 0.2 * t)
    up = np.column_stack([np.zeros(n), np.cos(angle), -np.sin(angle)]) if upright else \
        np.column_stack([np.zeros(n), np.sin(angle), np.cos(angle)])
    grav = G * up  # specific-force gravity (Android's convention)
    user = 0.2 * np.column_stack([np.sin(3 * t), np.cos(2 * t), np.sin(t)])
    gyr = np.column_stack([rate, np.zeros(n), np.zeros(n)])
    return t, grav, user, gyr


def _sl_csv(path: Path, t_ns: np.ndarray, xyz: np.ndarray, *, order: str = "zyx", elapsed: bool = True) -> None:
    cols = ["time"] + (["seconds_elapsed"] if elapsed else []) + list(order)
    lines = [",".join(cols)]
    idx = {"x": 0, "y": 1, "z": 2}
    for tn, v in zip(t_ns, xyz):
        row = [str(int(tn))] + ([repr(float((tn - T0_NS) / 1e9 - 0.05))] if elapsed else []) + [repr(float(v[idx[a]])) for a in order]
        lines.append(",".join(row))
    path.write_text("\n".join(lines) + "\n")


def _sensor_logger(folder: Path, *, platform: str | None, standardised: bool | None, old: bool = False,
                   upright: bool = True) -> tuple[np.ndarray, np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    t, grav, user, gyr = _truth(upright=upright)
    t_ns = T0_NS + np.round(t * 1e9).astype(np.int64)
    sign = -1.0 if platform == "ios" and not standardised else 1.0
    _sl_csv(folder / "Accelerometer.csv", t_ns, sign * user, elapsed=not old)
    _sl_csv(folder / "Gravity.csv", t_ns, sign * grav, elapsed=not old)
    _sl_csv(folder / "Gyroscope.csv", t_ns, gyr, elapsed=not old, order="xyz")
    (folder / "Annotation.csv").write_bytes(b"")
    if platform is not None:
        if old:
            (folder / "Metadata.csv").write_text(f"version,device name,recording time,platform\n2,iPhone,"
                                                 f"2024-05-01_09-30-12,{platform}\n")
        else:
            std = "" if standardised is None else f",{str(standardised).lower()}"
            (folder / "Metadata.csv").write_text(
                "version,device name,recording epoch time,recording time,recording timezone,platform,appVersion"
                + (",standardisation" if standardised is not None else "") + "\n"
                f"3,Pixel 8,{T0_NS // 1_000_000},2024-05-01_09-30-12,Europe/Berlin,{platform},1.40.0{std}")
    return grav + user, gyr


@pytest.mark.parametrize(("platform", "standardised", "old"), [
    ("ios", False, False), ("ios", True, False), ("android", None, False), ("ios", None, True)])
def test_sensor_logger_sign_convention_from_metadata(tmp_path: Path, platform: str, standardised: bool | None,
                                                     old: bool) -> None:
    acc, gyr = _sensor_logger(tmp_path / "x", platform=platform, standardised=standardised, old=old)
    res = read_export(tmp_path / "x")
    np.testing.assert_allclose(res.recording.acc_m_s2, acc, atol=1e-9)
    np.testing.assert_allclose(res.recording.gyr_rad_s, gyr, atol=1e-12)
    assert res.recording.meta.started_at == datetime(2024, 5, 1, 7, 30, 12, 345678, tzinfo=timezone.utc)
    assert res.recording.meta.device == ("iPhone" if old else "Pixel 8")
    assert not res.warnings
    assert any("Annotation.csv: the file is empty" in n for n in res.notes)


@pytest.mark.parametrize("platform", ["ios", "android"])
def test_sensor_logger_without_metadata_judges_the_sign_from_gravity_and_says_so(tmp_path: Path,
                                                                                platform: str) -> None:
    acc, _ = _sensor_logger(tmp_path / "x", platform=platform, standardised=False)
    (tmp_path / "x" / "Metadata.csv").unlink()
    res = read_export(tmp_path / "x")
    np.testing.assert_allclose(res.recording.acc_m_s2, acc, atol=1e-9)
    assert any("judged from gravity at rest" in n for n in res.notes)
    assert res.recording.meta.device == "phone (Sensor Logger)"


def test_sensor_logger_flat_phone_without_metadata_cannot_be_judged_and_says_so(tmp_path: Path) -> None:
    _sensor_logger(tmp_path / "x", platform="android", standardised=False, upright=False)
    (tmp_path / "x" / "Metadata.csv").unlink()
    res = read_export(tmp_path / "x")
    assert any("cannot tell" in n for n in res.notes)


def test_sensor_logger_duplicates_negative_elapsed_zip_and_unrelated_files(tmp_path: Path) -> None:
    acc, _ = _sensor_logger(tmp_path / "x", platform="android", standardised=False)
    gyro = tmp_path / "x" / "Gyroscope.csv"
    lines = gyro.read_text().splitlines()
    gyro.write_text("\n".join(lines[:11] + [lines[10]] + lines[11:]) + "\n")  # a repeated time stamp
    (tmp_path / "x" / "Location.csv").write_bytes(b"")
    (tmp_path / "x" / "notes.json").write_text("{}")
    (tmp_path / "x" / "Microphone.m4a").write_bytes(b"\x00\x00\x00\x18ftypM4A ")
    with zipfile.ZipFile(tmp_path / "x.zip", "w") as zf:
        for f in sorted((tmp_path / "x").iterdir()):
            zf.write(f, f.name)
    for path in (tmp_path / "x", tmp_path / "x.zip"):
        res = read_export(path)
        np.testing.assert_allclose(res.recording.acc_m_s2, acc, atol=1e-9)
        assert any("1 rows repeat the previous time stamp" in n for n in res.notes)
        assert any("notes.json: not a CSV file" in n for n in res.notes)
        assert [a.name for a in res.attachments] == ["Microphone.m4a"]
        assert res.attachments[0].media_type == "audio/mp4"


def test_imported_audio_is_stored_with_the_session(tmp_path: Path) -> None:
    _sensor_logger(tmp_path / "x", platform="android", standardised=False)
    (tmp_path / "x" / "Microphone.mp4").write_bytes(b"audio-bytes")
    r = CliRunner().invoke(cli, ["import", str(tmp_path / "x"), "--data-dir", str(tmp_path / "home")])
    assert r.exit_code == 0, r.output
    store = Store.open(tmp_path / "home")
    (info,) = store.sessions()
    assert store.attachments(info.id) == [("Microphone.mp4", "audio/mp4", 11)]
    assert store.attachment_data(info.id, "Microphone.mp4") == b"audio-bytes"


# ---------------------------------------------------------------------- phyphox
def _phyphox_rows(t: np.ndarray, cols: list[np.ndarray], sep: str, comma: bool) -> list[str]:
    def f(v: float) -> str:
        s = f"{v:.9E}"
        return s.replace(".", ",") if comma else s
    return [sep.join(f(c) for c in [ti, *row]) for ti, row in zip(t, np.hstack(cols))]


@pytest.mark.parametrize(("sep", "comma"), [(",", False), ("\t", False), (";", False), (";", True), ("\t", True)])
def test_phyphox_android_simple_experiment_every_csv_flavour(tmp_path: Path, sep: str, comma: bool) -> None:
    t, grav, user, gyr = _truth()
    acc = grav + user
    q = '"'
    header = sep.join(q + h + q for h in ["Time (s)", "Acceleration x (m/s^2)", "Acceleration y (m/s^2)",
                                           "Acceleration z (m/s^2)", "Gyroscope x (rad/s)", "Gyroscope y (rad/s)",
                                           "Gyroscope z (rad/s)"])
    (tmp_path / "Raw Data.csv").write_text("\n".join([header, *_phyphox_rows(t + 0.25, [acc, gyr], sep, comma)]))
    (tmp_path / "meta").mkdir()
    num = (lambda s: s.replace(".", ",")) if comma else (lambda s: s)
    (tmp_path / "meta" / "time.csv").write_text(sep.join(['"event"', '"experiment time"', '"system time"']) + "\n"
                                                + sep.join(['"START"', num("0.0E0"), num("1.714548612E9")]) + "\n")
    (tmp_path / "meta" / "device.csv").write_text(sep.join(['"property"', '"value"']) + "\n"
                                                  + sep.join(['"deviceModel"', '"Pixel 8"']) + "\n"
                                                  + sep.join(['"deviceBrand"', '"google"']) + "\n")
    res = read_export(tmp_path)
    np.testing.assert_allclose(res.recording.acc_m_s2, acc, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(res.recording.gyr_rad_s, gyr, rtol=1e-8, atol=1e-9)
    assert res.recording.meta.started_at.timestamp() == pytest.approx(1_714_548_612.25, abs=1e-6)
    assert res.recording.meta.device == "google Pixel 8"


def test_phyphox_ios_simple_and_editor_experiments(tmp_path: Path) -> None:
    t, grav, user, gyr = _truth()
    acc = grav + user
    ios = tmp_path / "ios"
    ios.mkdir()
    (ios / "Accelerometer.csv").write_text(
        '"Time (s)","X (m/s^2)","Y (m/s^2)","Z (m/s^2)"\n' + "\n".join(_phyphox_rows(t, [acc], ",", False)))
    (ios / "Gyroscope.csv").write_text(
        '"Time (s)","X (rad/s)","Y (rad/s)","Z (rad/s)"\n' + "\n".join(_phyphox_rows(t + 0.003, [gyr], ",", False)))
    (ios / "Linear Accelerometer.csv").write_text(
        '"Time (s)","X (m/s^2)","Y (m/s^2)","Z (m/s^2)"\n' + "\n".join(_phyphox_rows(t, [user], ",", False)))
    res = read_export(ios)
    assert len(res.recording) == len(t) - 1  # the gyro starts 3 ms later
    np.testing.assert_allclose(res.recording.acc_m_s2, acc[1:], rtol=1e-8, atol=1e-8)
    assert any("Linear Accelerometer.csv" in n for n in res.notes)
    editor = tmp_path / "editor"
    editor.mkdir()
    (editor / "Acceleration.csv").write_text(
        '"time","Acceleration x","Acceleration y","Acceleration z","abs Acceleration"\n'
        + "\n".join(_phyphox_rows(t, [acc, np.linalg.norm(acc, axis=1)[:, None]], ",", False)))
    (editor / "Gyroscope.csv").write_text(
        '"time","Gyroscope x","Gyroscope y","Gyroscope z","abs Gyroscope"\n'
        + "\n".join(_phyphox_rows(t, [gyr, np.linalg.norm(gyr, axis=1)[:, None]], ",", False)))
    res = read_export(editor)
    np.testing.assert_allclose(res.recording.gyr_rad_s, gyr, rtol=1e-8, atol=1e-9)


# ------------------------------------------------------- MetaBase, Physics Toolbox
def test_metabase_accelerometer_and_gyroscope_in_g_and_deg_s(tmp_path: Path) -> None:
    t, grav, user, gyr = _truth()
    acc = grav + user
    ms = 1_659_731_173_153 + np.round(t * 1000).astype(np.int64)
    def write(name: str, unit: str, values: np.ndarray) -> None:
        rows = [f"{m},2022-08-05T15.26.13.153,{(m - ms[0]) / 1000:.3f},{v[0]:.6f},{v[1]:.6f},{v[2]:.6f}"
                for m, v in zip(ms, values)]
        (tmp_path / name).write_text(f"epoc (ms),timestamp (-0500),elapsed (s),x-axis ({unit}),y-axis ({unit}),"
                                     f"z-axis ({unit})\n" + "\n".join(rows) + "\n")
    write("Accelerometer.csv", "g", acc / G)
    write("Gyroscope.csv", "deg/s", np.degrees(gyr))
    res = read_export(tmp_path)
    np.testing.assert_allclose(res.recording.acc_m_s2, acc, atol=1e-5 * G)
    np.testing.assert_allclose(res.recording.gyr_rad_s, gyr, atol=1e-6)
    assert res.recording.meta.started_at.timestamp() == pytest.approx(1_659_731_173.153, abs=1e-6)
    assert res.source == "metabase"


@pytest.mark.parametrize("clock", [False, True])
def test_physics_toolbox_multi_record(tmp_path: Path, clock: bool) -> None:
    t, grav, user, gyr = _truth()
    acc = grav + user
    def stamp(s: float) -> str:
        if not clock:
            return f"{s:.3f}"
        s += 23 * 3600 + 59 * 60 + 58  # crosses midnight
        h, rem = divmod(s, 3600)
        m, sec = divmod(rem, 60)
        return f"{int(h) % 24:02d}:{int(m):02d}:{int(sec):02d}:{round((sec % 1) * 1000):03d}"
    rows = [f"{stamp(ti)},{a[0]:.6f},{a[1]:.6f},{a[2]:.6f},{w[0]:.6f},{w[1]:.6f},{w[2]:.6f}"
            for ti, a, w in zip(t, acc / G, gyr)]
    (tmp_path / "multi.csv").write_text("time,gFx,gFy,gFz,wx,wy,wz\n" + "\n".join(rows) + "\n")
    res = read_export(tmp_path / "multi.csv", start="2024-05-01T07:30:00Z")
    np.testing.assert_allclose(res.recording.acc_m_s2, acc, atol=1e-5 * G)
    np.testing.assert_allclose(res.recording.t_s, t, atol=1.5e-3)
    assert res.source == "physics-toolbox" and res.start_source == "--start"


# ------------------------------------------------------------- checks and dates
def test_upside_down_gravity_gets_a_warning(tmp_path: Path) -> None:
    acc, _ = _sensor_logger(tmp_path / "x", platform="android", standardised=False)
    for name in ("Accelerometer.csv", "Gravity.csv"):  # Android phone worn top down
        p = tmp_path / "x" / name
        lines = p.read_text().splitlines()
        out = [lines[0]]
        for line in lines[1:]:
            c = line.split(",")
            c[3] = repr(-float(c[3]))  # y (columns time, seconds_elapsed, z, y, x)
            c[2] = repr(-float(c[2]))
            out.append(",".join(c))
        p.write_text("\n".join(out) + "\n")
    res = read_export(tmp_path / "x")
    assert any("upside down" in w for w in res.warnings)


def test_import_start_option_and_example_manifest_dates(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[1]
    shutil.copy(repo / "data" / "examples" / "2025-01-09_0710.zip", tmp_path / "2025-01-09_0710.zip")
    shutil.copy(repo / "data" / "examples" / "sessions.csv", tmp_path / "sessions.csv")
    home = tmp_path / "home"
    r = CliRunner().invoke(cli, ["import", str(tmp_path / "2025-01-09_0710.zip"), "--data-dir", str(home)])
    assert r.exit_code == 0, r.output
    assert "started 2025-01-09 07:10:00 UTC from manifest" in r.output
    # The manifest also names the device and gives the self-reported pain, stored as `record` does.
    row = next(line.split(",") for line in (tmp_path / "sessions.csv").read_text().splitlines()
               if line.startswith("2025-01-09_0710,"))
    header = (tmp_path / "sessions.csv").read_text().splitlines()[0].split(",")
    want = dict(zip(header, row, strict=True))
    with Store.open(home) as store:
        (info,) = store.sessions()
        assert info.device == want["device"] != "2025-01-09_0710"
        rep = store.self_report(info.id)
        assert (rep["pain_before"], rep["pain_after"]) == (int(want["pain_before"]), int(want["pain_after"]))
    assert f"pain before {want['pain_before']}/10, after {want['pain_after']}/10 from sessions.csv" in r.output
    # A bad pain value is said and left out; the rest of the row still applies.
    (tmp_path / "sessions.csv").write_text("name,started_at,pain_before,pain_after\n"
                                           "2025-01-09_0710,2025-01-09T07:10:00Z,11,\n")
    res = read_export(tmp_path / "2025-01-09_0710.zip")
    assert res.self_report == {} and res.start_source == "manifest"
    assert res.recording.meta.device == "2025-01-09_0710"  # no device column: the file's name
    assert any("pain_before in sessions.csv ignored" in n for n in res.notes)
    (tmp_path / "sessions.csv").unlink()
    r = CliRunner().invoke(cli, ["import", str(tmp_path / "2025-01-09_0710.zip"), "--start", "2025-02-01T08:00:00Z",
                                 "--data-dir", str(home)])
    assert r.exit_code == 0 and "started 2025-02-01 08:00:00 UTC from --start" in r.output
    r = CliRunner().invoke(cli, ["import", str(tmp_path / "2025-01-09_0710.zip"), "--start", "yesterday",
                                 "--data-dir", str(home)])
    assert r.exit_code == 1 and "not an ISO-8601 time" in r.output


def test_export_then_import_keeps_every_sample_and_the_start(tmp_path: Path) -> None:
    from helpers import still_recording

    from tracker.csvio import write_raw_csv

    rec = still_recording(1234, 100.0, mag=True, started_at=datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=timezone.utc))
    back = read_export(write_raw_csv(rec, tmp_path / "r.csv")).recording
    assert len(back) == len(rec) and back.meta.started_at == rec.meta.started_at
    np.testing.assert_allclose(back.t_s, rec.t_s, atol=5e-7)


def test_without_gyroscope_an_accelerometer_only_session_without_gravity_a_refusal(tmp_path: Path) -> None:
    from tracker.schema import NO_GYRO_NOTE

    acc, _ = _sensor_logger(tmp_path / "x", platform="android", standardised=False)
    gyro = tmp_path / "x" / "Gyroscope.csv"
    good = gyro.read_text()
    gyro.write_text(good.replace("\n", "\n1,2,3,4,5,6,7\n", 1))  # recorded but unreadable: an error
    with pytest.raises(ImportFormatError, match="Gyroscope.csv"):
        read_export(tmp_path / "x")
    for empty in (b"", good.split("\n", 1)[0].encode() + b"\n"):  # not recorded: accelerometer only
        gyro.write_bytes(empty)
        res = read_export(tmp_path / "x")
        np.testing.assert_allclose(res.recording.acc_m_s2, acc, atol=1e-9)
        assert not res.recording.has_gyro and any(n.startswith(NO_GYRO_NOTE) for n in res.notes)
    gyro.unlink()
    (tmp_path / "x" / "Gravity.csv").unlink()  # linear acceleration alone: nothing to measure angles by
    with pytest.raises(ImportFormatError, match=r"gravity removed.*Record with Gravity"):
        read_export(tmp_path / "x")
    t, grav, user, _ = _truth()  # Physics Toolbox: the G-Force Meter alone
    rows = [f"{ti:.3f},{a[0]:.6f},{a[1]:.6f},{a[2]:.6f}" for ti, a in zip(t, (grav + user) / G)]
    (tmp_path / "g.csv").write_text("time,gFx,gFy,gFz\n" + "\n".join(rows) + "\n")
    res = read_export(tmp_path / "g.csv")
    assert len(res.recording) == len(t) and not res.recording.has_gyro
    assert any(n.startswith(NO_GYRO_NOTE) and "Multi Record" in n for n in res.notes)
    (tmp_path / "w.csv").write_text("time,ax,ay,az,wx,wy,wz\n0,0,0,0,0,0,0\n0.01,0,0,0,0,0,0\n")
    with pytest.raises(ImportFormatError, match=r"without g-force.*gravity removed.*G-Force Meter"):
        read_export(tmp_path / "w.csv")


def test_accelerometer_only_export_import_store_analyze_export(tmp_path: Path) -> None:
    """A simulated session from a phone without gyroscope (Sensor Logger, Android, Total
    Acceleration only) goes through the CLI as a Polar H10 session would: back-bend, lying
    trunk rotations and cat stretch found, seated twists unseen (NaN, not 0), nothing lost."""
    import json

    import pandas as pd

    from tracker.schema import NO_GYRO_NOTE
    from tracker.simulate import simulate_session

    sim = simulate_session(seed=2, rate_hz=100.0, minutes=1.5)
    rec = sim.recording
    folder = tmp_path / "2024-05-01_07-30-12"
    folder.mkdir()
    _sl_csv(folder / "TotalAcceleration.csv", T0_NS + np.round(rec.t_s * 1e9).astype(np.int64), rec.acc_m_s2)
    (folder / "Metadata.csv").write_text("version,device name,recording epoch time,platform,appVersion\n"
                                         f"3,Pixel 8,{T0_NS // 1_000_000},android,1.40.0\n")
    home, out = tmp_path / "home", tmp_path / "out"

    def run(*args: str) -> str:
        r = CliRunner().invoke(cli, [*args, "--data-dir", str(home)])
        assert r.exit_code == 0, r.output
        return r.output

    assert "Pixel 8, accelerometer only, started 2024-05-01 07:30:12 UTC" in run("import", str(folder))
    with Store.open(home) as store:
        sid = store.resolve("latest")
        stored = store.load_recording(sid)
    assert len(stored) == len(rec) and not stored.gyr_rad_s.any()
    np.testing.assert_allclose(stored.acc_m_s2, rec.acc_m_s2, rtol=1e-12)
    assert NO_GYRO_NOTE in run("show", sid)  # from the stored samples before any analysis
    ana = json.loads(run("analyze", sid, "--json"))
    assert ana["summary"]["angles_available"]["axial_rotation"] is False
    truth = [t for t in sim.truth.reps if t.exercise != "seated_twist"]
    assert len(truth) < len(sim.truth.reps)  # the routine has seated twists
    assert [r["exercise"] for r in ana["reps"]] == [t.exercise for t in truth]
    for r, t in zip(ana["reps"], truth):
        assert r["start_s"] <= t.peak_s <= r["end_s"]
    shown = run("show", sid)
    assert NO_GYRO_NOTE in shown  # from the analysis
    assert "without a gyroscope a possible crack needs a crack score of 0.97" in shown
    run("export", sid, "--what", "raw,angles", "--out", str(out))
    angles = pd.read_csv(out / f"{sid}_angles.csv")
    twists = [t for t in sim.truth.reps if t.exercise in ("seated_twist", "trunk_rotation")]
    assert {t.exercise for t in twists} == {"seated_twist", "trunk_rotation"}
    for t in twists:  # a seated twist's axial rotation is unseen (not 0), a lying one measured
        k = int(np.searchsorted(angles["t_s"], t.peak_s))
        assert np.isnan(angles["axial_rotation_deg"][k]) == (t.exercise == "seated_twist")
    back = read_export(out / f"{sid}_raw.csv")
    assert len(back.recording) == len(rec) and back.recording.meta.started_at == stored.meta.started_at
    assert not back.recording.has_gyro and NO_GYRO_NOTE in back.notes
