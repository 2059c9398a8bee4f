"""Types shared by every device profile: writes, sample batches, decoders, profiles.

This layer is pure: bytes in, SI-unit arrays out. It never imports bleak or asyncio;
the BLE client subscribes, writes what a profile asks for, and feeds notifications
to the profile's :class:`Decoder`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import DecodeError

__all__ = [
    "BT_BASE_SUFFIX",
    "Decoder",
    "DecodeError",
    "Profile",
    "SampleBatch",
    "Write",
    "norm_uuid",
    "uuid16",
]

#: Suffix of the Bluetooth SIG base UUID; 16-bit UUIDs expand to ``0000xxxx`` + this.
BT_BASE_SUFFIX = "-0000-1000-8000-00805f9b34fb"

_HEX = re.compile(r"^[0-9a-f]+$")


def uuid16(short: int) -> str:
    """Expand a 16-bit SIG UUID to the full lowercase 128-bit form bleak reports."""
    return f"0000{short:04x}{BT_BASE_SUFFIX}"


@functools.lru_cache(maxsize=1024)
def norm_uuid(uuid: str) -> str:
    """Return ``uuid`` as full 128-bit lowercase text.

    Accepts 16-bit (``"180a"``, ``"0x180A"``), 32-bit and full forms, upper or lower
    case. Unparseable text is returned lowercased and stripped, so comparisons fail
    cleanly instead of raising.
    """
    u = str(uuid).strip().lower()
    if u.startswith("0x"):
        u = u[2:]
    if _HEX.match(u) and len(u) in (4, 8):
        return f"{int(u, 16):08x}{BT_BASE_SUFFIX}"
    return u


@dataclass(frozen=True)
class Write:
    """One GATT write the BLE client must perform, in order.

    Attributes
    ----------
    char_uuid : str
        Characteristic, full 128-bit lowercase UUID.
    data : bytes
        Value to write.
    response : bool
        Write with response (``True``: config writes, so ATT errors surface) or
        write-without-response.
    delay_s : float
        Seconds to wait *after* this write before the next one (vendor unlock/save
        sequences need it).
    """

    char_uuid: str
    data: bytes
    response: bool = True
    delay_s: float = 0.0


@dataclass(frozen=True, eq=False)
class SampleBatch:
    """Samples decoded from one notification, in SI units.

    Attributes
    ----------
    t_s : ndarray, shape (N,)
        Sample times in seconds on the *device* time base, relative to the first
        sample of the session; strictly increasing across batches, also across
        counter wrap-around and reconnects.
    acc_m_s2 : ndarray, shape (N, 3)
        Specific force in the right-handed sensor frame, m/s².
    gyr_rad_s : ndarray, shape (N, 3)
        Angular rate, rad/s; zeros when the profile has no gyroscope
        (``Profile.has_gyro`` is False).
    mag_uT : ndarray, shape (N, 3) or None
        Magnetic field, µT, or None when this batch carries none.
    lost_samples : int
        Samples detected as missing *before* this batch (from sequence numbers,
        device timestamps or, for counterless devices, host arrival times).
    seq : int or None
        Sequence number of the first packet in this batch, when the protocol has one.
    host_time_s : float
        Host clock at arrival of the notification that completed this batch.
    extras : dict of str to ndarray, optional
        Profile-specific per-sample extras, e.g. WitMotion ``euler_deg`` (N, 3).
    """

    t_s: np.ndarray
    acc_m_s2: np.ndarray
    gyr_rad_s: np.ndarray
    mag_uT: np.ndarray | None = None
    lost_samples: int = 0
    seq: int | None = None
    host_time_s: float = float("nan")
    extras: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    @staticmethod
    def concat(batches: list[SampleBatch]) -> SampleBatch:
        """Join batches in order; ``mag_uT`` is kept only if every batch has it."""
        if not batches:
            z = np.zeros((0, 3))
            return SampleBatch(np.zeros(0), z, z.copy())
        mags = [b.mag_uT for b in batches]
        return SampleBatch(
            t_s=np.concatenate([b.t_s for b in batches]),
            acc_m_s2=np.concatenate([b.acc_m_s2 for b in batches]),
            gyr_rad_s=np.concatenate([b.gyr_rad_s for b in batches]),
            mag_uT=None if any(m is None for m in mags) else np.concatenate(mags),  # type: ignore[arg-type]
            lost_samples=sum(b.lost_samples for b in batches),
            seq=batches[0].seq,
            host_time_s=batches[-1].host_time_s,
        )


class Decoder:
    """Stateful decoder for one connection session of one device.

    Subclasses implement :meth:`_feed`. :meth:`feed` counts packets, samples and
    decode errors so every decoder reports the same :attr:`stats` keys.

    Parameters
    ----------
    profile : Profile
        The profile that made this decoder.
    rate_hz : float
        Sample rate the device was configured for (``Profile.actual_rate_hz``).
    """

    def __init__(self, profile: Profile, rate_hz: float) -> None:
        if not (rate_hz > 0 and np.isfinite(rate_hz)):
            raise ValueError(f"rate_hz must be positive, got {rate_hz}")
        self.profile = profile
        self.rate_hz = float(rate_hz)
        self._stats: dict[str, Any] = {
            "packets": 0,
            "samples": 0,
            "decode_errors": 0,
            "lost_packets": 0,
            "lost_samples": 0,
            "reconnects": 0,
            "clock_drift_ppm": None,
        }

    # -- public -----------------------------------------------------------------
    def feed(self, char_uuid: str, data: bytes, host_time_s: float) -> SampleBatch | None:
        """Decode one notification.

        Parameters
        ----------
        char_uuid : str
            Characteristic that notified (any UUID spelling; normalised here).
        data : bytes
            Notification payload.
        host_time_s : float
            Host monotonic clock at arrival, seconds (``time.monotonic()``).

        Returns
        -------
        SampleBatch or None
            New samples, or None when the notification carried none (control
            responses, register replies, a partial packet still being buffered).

        Raises
        ------
        DecodeError
            The bytes cannot be decoded; the caller counts and skips them. The
            decoder state stays valid, so the next notification can be fed.
        """
        try:
            batch = self._feed(norm_uuid(char_uuid), bytes(data), float(host_time_s))
        except DecodeError:
            self._stats["decode_errors"] += 1
            raise
        except (ValueError, IndexError, KeyError, OverflowError, TypeError) as exc:
            # A decoder bug on hostile bytes must still look like bad bytes to the
            # caller (who skips them); keep the cause for debugging.
            self._stats["decode_errors"] += 1
            raise DecodeError(f"{self.profile.id}: cannot decode {len(data)} bytes: {exc}") from exc
        if batch is not None:
            self._stats["samples"] += len(batch)
            self._stats["lost_samples"] += batch.lost_samples
        return batch

    def flush(self) -> SampleBatch | None:
        """Return samples the decoder still holds; call once when the stream ends.

        Some decoders hold samples briefly: counterless devices while a suspected gap
        is confirmed, WitMotion and the Verity Sense until the first magnetometer (and
        gyro) data, Polar accelerometer samples until gyro data covers them.
        """
        batch = self._flush()
        if batch is not None:
            self._stats["samples"] += len(batch)
            self._stats["lost_samples"] += batch.lost_samples
        return batch

    def reset_link(self) -> None:
        """Tell the decoder the link was re-established: the next packet may follow a gap.

        The device time base is kept, so ``t_s`` continues across the reconnect.
        """
        self._stats["reconnects"] += 1
        self._reset_link()

    @property
    def stats(self) -> dict[str, Any]:
        """Counters and estimates (a copy).

        Keys common to every profile: ``packets``, ``samples``, ``decode_errors``,
        ``lost_packets``, ``lost_samples``, ``reconnects``, ``clock_drift_ppm``
        (device time base vs host clock, ``(device rate / host rate - 1)·1e6``
        sign convention: positive = device clock runs fast; None until known).
        """
        self._update_stats()
        return dict(self._stats)

    # -- for subclasses --------------------------------------------------------
    def _feed(self, uuid: str, data: bytes, host_time_s: float) -> SampleBatch | None:
        raise NotImplementedError

    def _reset_link(self) -> None:
        pass

    def _flush(self) -> SampleBatch | None:
        return None

    def _update_stats(self) -> None:
        pass


@dataclass(frozen=True, eq=False)
class Profile:
    """How to recognise, configure, stream from and decode one kind of device.

    Subclasses override the command and decoder methods; attributes are plain data.

    Attributes
    ----------
    id : str
        Stable id stored with recordings (``"tracker-imu"``, ``"witmotion"``, ...).
    display_name : str
        What a person would call the device.
    service_uuid : str
        Primary GATT service carrying the motion data.
    notify_uuids : list of str
        Characteristics to subscribe to, in order, **before** sending
        :meth:`start_commands` (Polar needs its control point subscribed first).
    has_gyro, has_mag : bool
        Whether batches carry gyroscope / magnetometer data.
    max_rate_hz : float
        Highest sample rate the device streams.
    rate_choices_hz : tuple of float
        Rates the device supports; requests are rounded to one of them.
    advertised_uuids : tuple of str
        Service UUIDs that identify the device when advertised.
    name_patterns : tuple of str
        Regular expressions (case-insensitive, ``re.search``) on the advertised name.
    angles : str
        Which anatomical angles the analysis can give with this sensor.
    notes : str
        Caveats a person should know (rate ceiling, pairing, ...).
    poll_interval_s : float or None
        If not None, send :meth:`poll_commands` this often while streaming.
    """

    id: str
    display_name: str
    service_uuid: str
    notify_uuids: list[str]
    has_gyro: bool
    has_mag: bool
    max_rate_hz: float
    rate_choices_hz: tuple[float, ...]
    advertised_uuids: tuple[str, ...] = ()
    name_patterns: tuple[str, ...] = ()
    angles: str = "flexion, lateral bend and axial rotation"
    notes: str = ""
    poll_interval_s: float | None = None
    default_rate_hz: float = 100.0

    ANGLES_ALL: ClassVar[str] = "flexion, lateral bend and axial rotation"
    ANGLES_NO_GYRO: ClassVar[str] = (
        "flexion and lateral bend only (inclination from gravity, reliable while moving slowly); "
        "no axial rotation: an accelerometer cannot see rotation about the vertical"
    )

    def actual_rate_hz(self, requested_hz: float) -> float:
        """The rate the device will really stream at for a request (nearest choice)."""
        choices = np.asarray(self.rate_choices_hz, dtype=float)
        if not np.isfinite(requested_hz) or requested_hz <= 0:
            return float(self.default_rate_hz)
        # Nearest in log space: 150 Hz between 100 and 200 picks 200 (geometric mid 141).
        i = int(np.argmin(np.abs(np.log(choices) - np.log(float(requested_hz)))))
        return float(choices[i])

    def start_commands(self, rate_hz: float) -> list[Write]:
        """Writes that configure ``rate_hz`` (rounded) and start streaming, in order."""
        raise NotImplementedError

    def stop_commands(self) -> list[Write]:
        """Writes that stop streaming (the client also unsubscribes afterwards)."""
        raise NotImplementedError

    def poll_commands(self) -> list[Write]:
        """Writes to repeat every :attr:`poll_interval_s` while streaming (usually none)."""
        return []

    def make_decoder(self, rate_hz: float) -> Decoder:
        """A fresh :class:`Decoder` for one connection session at ``rate_hz``."""
        raise NotImplementedError

    def matches(self, name: str | None, service_uuids: list[str]) -> bool:
        """Whether an advertisement (name, service UUIDs) looks like this device."""
        uuids = {norm_uuid(u) for u in service_uuids}
        if uuids & {norm_uuid(u) for u in self.advertised_uuids}:
            return True
        if name:
            return any(re.search(p, name, re.IGNORECASE) for p in self.name_patterns)
        return False


def empty_batch() -> SampleBatch:
    """A zero-length batch (for decoders that must return something)."""
    z = np.zeros((0, 3))
    return SampleBatch(np.zeros(0), z, z.copy())


def check_len(profile_id: str, what: str, data: bytes, expected: int) -> None:
    """Raise :class:`DecodeError` unless ``len(data) == expected``."""
    if len(data) != expected:
        raise DecodeError(f"{profile_id}: {what} must be {expected} bytes, got {len(data)}")

