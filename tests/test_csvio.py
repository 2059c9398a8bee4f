"""CSV contract, phone-app importers and bad files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tracker import schema
from tracker.csvio import read_recording, write_raw_csv
from tracker.errors import ImportFormatError
from tracker.recording import Recording

from helpers import still_recording

HEADER = ",".join(schema.RAW_COLUMNS)


def test_header_carries_units_and_start_plain_pandas_reads_it(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    import pandas as pd

    start = datetime(2025, 1, 6, 7, 7, 0, 250_000, tzinfo=timezone.utc)
    rec = still_recording(5, mag=True).with_meta(started_at=start)
    path = write_raw_csv(rec, tmp_path / "a.csv")
    assert path.read_text().splitlines()[0] == ",".join([*schema.RAW_COLUMNS_WITH_MAG, schema.STARTED_AT])
    assert b"\r\n" not in path.read_bytes()
    frame = pd.read_csv(path)  # design.md: no options needed
    assert list(frame.columns[:10]) == list(schema.RAW_COLUMNS_WITH_MAG) and len(frame) == 5
    assert frame[schema.STARTED_AT].iloc[0] == "2025-01-06T07:07:00.250000Z"
    assert frame[schema.STARTED_AT].iloc[1:].isna().all()
    back = read_recording(path)
    assert back.meta.started_at == start and len(back) == 5
    # A file without the column stays valid (dated at import, said in a note).
    frame.drop(columns=[schema.STARTED_AT]).to_csv(tmp_path / "b.csv", index=False)
    assert len(read_recording(tmp_path / "b.csv")) == 5


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=arrays(np.float64, st.integers(2, 50), elements=st.floats(1e-5, 2.0)),
    data=st.data(), mag=st.booleans(),
)
def test_csv_round_trip_within_stated_format(tmp_path: Path, steps: np.ndarray, data: st.DataObject,
                                             mag: bool) -> None:
    # Times are written with 1 µs resolution: draw them on that grid so they stay distinct.
    t = np.round(np.cumsum(np.maximum(steps, 1e-5)), 6)
    n = len(t)
    values = st.floats(-400, 400, allow_nan=False, allow_subnormal=False)
    acc = data.draw(arrays(np.float64, (n, 3), elements=values))
    gyr = data.draw(arrays(np.float64, (n, 3), elements=st.floats(-39, 39, allow_subnormal=False)))
    m = data.draw(arrays(np.float64, (n, 3), elements=values)) if mag else None
    rec = Recording(t, acc, gyr, m)
    back = read_recording(write_raw_csv(rec, tmp_path / "r.csv"))
    np.testing.assert_allclose(back.t_s, rec.t_s, rtol=0, atol=5e-7)          # %.6f
    np.testing.assert_allclose(back.to_array()[:, 1:], rec.to_array()[:, 1:],  # %.9g
                               rtol=1e-8, atol=1e-300)
    assert back.has_mag == mag


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_phyphox_two_sheets_merged_onto_accelerometer_time(tmp_path: Path) -> None:
    t_acc = np.arange(0, 2, 0.01)
    t_gyr = np.arange(0.003, 2, 0.0125)
    acc_lines = "\n".join(f'{t:.4f},0.1,0.2,9.8' for t in t_acc)
    gyr_lines = "\n".join(f'{t:.4f},{t:.4f},0,-0.5' for t in t_gyr)
    a = _write(tmp_path / "Accelerometer.csv",
               '"Time (s)","Acceleration x (m/s^2)","Acceleration y (m/s^2)","Acceleration z (m/s^2)"\n' + acc_lines)
    g = _write(tmp_path / "Gyroscope.csv",
               '"Time (s)","Gyroscope x (rad/s)","Gyroscope y (rad/s)","Gyroscope z (rad/s)"\n' + gyr_lines)
    rec = read_recording(a, g)
    assert rec.meta.profile == "phyphox"
    assert rec.t_s[0] == 0.0 and rec.achieved_rate_hz == pytest.approx(100.0)
    # gyro x was the gyroscope's own time: interpolated onto accelerometer times
    np.testing.assert_allclose(rec.gyr_rad_s[:, 0], rec.t_s + t_acc[t_acc >= 0.003][0], atol=1e-9)
    np.testing.assert_allclose(rec.acc_m_s2[:, 2], 9.8)


def test_phyphox_semicolon_decimal_comma_zip(tmp_path: Path) -> None:
    rows = "\n".join(f"{i / 100:.2f};0,1;0,2;9,8;0,01;0;0" for i in range(50)).replace(".", ",")
    text = ('"Time (s)";"Acceleration x (m/s^2)";"Acceleration y (m/s^2)";"Acceleration z (m/s^2)";'
            '"Gyroscope x (rad/s)";"Gyroscope y (rad/s)";"Gyroscope z (rad/s)"\n' + rows)
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as zf:
        zf.writestr("Raw Data.csv", text)
    rec = read_recording(tmp_path / "export.zip")
    assert len(rec) == 50 and rec.acc_m_s2[0, 0] == pytest.approx(0.1) and rec.gyr_rad_s[0, 0] == pytest.approx(0.01)


def test_phyphox_linear_acceleration_is_refused(tmp_path: Path) -> None:
    p = _write(tmp_path / "lin.csv", '"Time (s)","Linear Acceleration x (m/s^2)","Linear Acceleration y (m/s^2)",'
               '"Linear Acceleration z (m/s^2)"\n0,0,0,0\n0.01,0,0,0\n')
    with pytest.raises(ImportFormatError, match="gravity removed"):
        read_recording(p)


def _sensor_logger(folder: Path, names: tuple[str, ...], rate_hz: float = 100.0, n: int = 300) -> Path:
    folder.mkdir()
    t0 = 1_760_000_000_000_000_000
    for k, name in enumerate(names):
        offset = k * 1_000_000  # each sensor starts 1 ms later: a real export's clocks differ
        t_ns = t0 + offset + (np.arange(n) * 1e9 / rate_hz).astype(np.int64)
        z = 9.80665 if name in ("TotalAcceleration", "Gravity") else 0.05
        lines = "\n".join(f"{tn},{(tn - t0) / 1e9:.6f},{z},0.5,-0.25" for tn in t_ns)
        (folder / f"{name}.csv").write_text("time,seconds_elapsed,z,y,x\n" + lines)
    return folder


def test_sensor_logger_folder_total_acceleration(tmp_path: Path) -> None:
    rec = read_recording(_sensor_logger(tmp_path / "sl", ("TotalAcceleration", "Gyroscope", "Magnetometer")))
    assert rec.meta.profile == "sensor-logger" and rec.has_mag
    assert rec.achieved_rate_hz == pytest.approx(100.0, rel=1e-6)
    np.testing.assert_allclose(rec.acc_m_s2[0], [-0.25, 0.5, 9.80665])  # x, y, z from z,y,x columns
    assert rec.meta.started_at.year == 2025


def test_sensor_logger_accelerometer_plus_gravity(tmp_path: Path) -> None:
    rec = read_recording(_sensor_logger(tmp_path / "sl", ("Accelerometer", "Gravity", "Gyroscope")))
    np.testing.assert_allclose(rec.acc_m_s2[:, 2], 0.05 + 9.80665)


def test_sensor_logger_without_gravity_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="gravity removed"):
        read_recording(_sensor_logger(tmp_path / "sl", ("Accelerometer", "Gyroscope")))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", r"the file is empty"),
        (HEADER + "\n", r"no data rows"),
        (HEADER + "\n0,1,2,3,4,5,6\n0.1,1,x,3,4,5,6\n", r"line 3: column 'acc_y_m_s2' has 'x', not a number"),
        (HEADER + "\n0,1,2,3,4,5,6\n0.1,1,2,3,4,5,6,7\n", r"Expected 7 fields in line 3, saw 8"),
        (HEADER + "\n0,1,2,3,4,5,6\n0,1,2,3,4,5,6\n", r"line 3: time repeats"),
        (HEADER + "\n1,1,2,3,4,5,6\n0.5,1,2,3,4,5,6\n", r"line 3: time goes back"),
        (HEADER + "\n0,1,2,3,4,5,6\n1,1,2,3,4,5,66\n", r"gyr at line 3 .* beyond the physical limit"),
        (HEADER + "\n0,1,2,3,4,5,6\n1,1,,3,4,5,6\n", r"line 3: column 'acc_y_m_s2' is empty"),
        ("a,b,c\n1,2,3\n", r"unknown CSV format"),
        ("t_s,acc_x_m_s2,acc_y_m_s2,acc_z_m_s2\n0,1,2,3\n", r"line 1: missing columns"),
    ],
)
def test_bad_files_name_file_line_and_problem(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path / "bad.csv", body)
    with pytest.raises(ImportFormatError, match=message) as err:
        read_recording(path)
    assert str(path) in str(err.value)


def test_binary_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "bin.csv").write_bytes(b"\x00\x01\x02" * 10)
    with pytest.raises(ImportFormatError, match="not a text CSV"):
        read_recording(tmp_path / "bin.csv")
    with pytest.raises(ImportFormatError, match="no such file"):
        read_recording(tmp_path / "nope.csv")


def test_phyphox_export_folder_takes_start_time_from_meta(tmp_path: Path) -> None:
    folder = tmp_path / "phyphox"
    (folder / "meta").mkdir(parents=True)
    rows = "\n".join(f"{0.5 + i / 100:.2f},0.1,0.2,9.8,0.01,0,0" for i in range(50))
    (folder / "Raw Data.csv").write_text(
        '"Time (s)","Acceleration x (m/s^2)","Acceleration y (m/s^2)","Acceleration z (m/s^2)",'
        '"Gyroscope x (rad/s)","Gyroscope y (rad/s)","Gyroscope z (rad/s)"\n' + rows)
    (folder / "meta" / "time.csv").write_text(
        '"event","experiment time","system time","system time text"\n'
        '"START",0.000000000E0,1.770000000E9,"2026-02-02 02:40:00.000 UTC+00:00"\n')
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as zf:
        for f in folder.rglob("*.csv"):
            zf.write(f, f.relative_to(folder))
    rec = read_recording(tmp_path / "export.zip")
    # first sample at experiment time 0.5 s after START
    assert rec.meta.started_at.timestamp() == pytest.approx(1_770_000_000.5)
    assert rec.t_s[0] == 0.0 and len(rec) == 50
