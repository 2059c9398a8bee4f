"""Small builders shared by tests (no fakes of project code)."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from tracker.recording import Recording, RecordingMeta


def still_recording(n: int = 500, rate_hz: float = 100.0, *, seed: int = 0, mag: bool = False,
                    t0: float = 0.0, started_at: datetime | None = None) -> Recording:
    """A sensor lying still with noise: |acc| ≈ g, gyro ≈ 0."""
    rng = np.random.default_rng(seed)
    t = t0 + np.arange(n) / rate_hz
    acc = np.array([0.0, 0.0, 9.80665]) + 0.02 * rng.standard_normal((n, 3))
    gyr = 0.005 * rng.standard_normal((n, 3))
    m = np.array([20.0, 0.0, -40.0]) + 0.5 * rng.standard_normal((n, 3)) if mag else None
    meta = RecordingMeta(device="test-tag", profile="simulator", nominal_rate_hz=rate_hz,
                         started_at=started_at or datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc))
    return Recording(t, acc, gyr, m, meta)
