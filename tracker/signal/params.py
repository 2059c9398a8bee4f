"""Analysis parameters: frozen dataclasses, every field carries its unit.

``AnalysisParams()`` holds the defaults; change one value with
``AnalysisParams(reps=RepParams(min_peak_deg=6.0))``. ``to_dict`` gives the
JSON stored next to every analysis result.

==================================  =========  ==============================================
parameter                           default    meaning
==================================  =========  ==============================================
orientation.use_mag                 "auto"     9D when a magnetometer is present and plausible
orientation.tau_acc_s               3.0        VQF accelerometer time constant (VQF default)
orientation.tau_mag_s               9.0        VQF magnetometer time constant (VQF default)
orientation.max_mag_disturbed       0.95       above this fraction of disturbed samples: 6D
orientation.rest_th_gyr_deg_s       3.0        VQF rest: gyro within this of its low-pass
                                               (VQF's 2.0 is a sensor on a table)
orientation.bias_clip_deg_s         2.0        largest gyro bias VQF estimates (VQF's own)
orientation.max_gap_fill_s          5.0        gaps are bridged by interpolation up to this
calibration.nominal_mounting        "auto"     tie-break of the forward sign only
calibration.search_s                60.0       the neutral still period is looked for this early
calibration.min_still_s             1.0        shortest neutral still period
calibration.still_max_turn_deg      1.5        ...turning by no more than this in all
calibration.max_tilt_deg            35.0       a neutral posture is this close to 'up' from walking
calibration.min_confidence          0.5        below: the mounting is reported uncertain
reps.event_rate_hz                  10.0       events are found on block means at this rate
reps.min_peak_deg                   3.0        smaller excursions are never repetitions...
reps.noise_factor                   10.0       ...nor those under this many times the noise
reps.drift_rate_deg_s               0.5        slower changes between repetitions are drift
reps.onset_rate_deg_s               2.0        a repetition starts/ends below this speed
reps.return_frac                    0.5        it must come back within this share of its peak
reps.min_hold_s                     1.0        shorter plateaus are not holds
reps.hold_max_rate_deg_s            3.0        a hold turns slower than this (or 15% of the
                                               speed going in) within 30% of the peak
reps.hold_slow_frac                 0.6        ...and than this share of the speed going in
reps.drift_correction               True       reference interpolated start -> end posture
==================================  =========  ==============================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..checks import check_choice, check_positive
from .spikes import CrackParams, SpikeParams

__all__ = [
    "OrientationParams", "CalibrationParams", "RepParams", "AnalysisParams",
]


@dataclass(frozen=True)
class OrientationParams:
    """Sensor fusion (VQF) settings.

    Attributes
    ----------
    use_mag : {"auto", "always", "never"}
        ``auto`` uses the 9D estimate when a magnetometer is present, its field norm is
        Earth-like and VQF flags at most ``max_mag_disturbed`` of the samples disturbed.
    tau_acc_s, tau_mag_s : float
        VQF time constants (defaults are VQF's own, which BROAD was tuned with).
    max_mag_disturbed : float
        Fraction (0–1) of samples VQF flagged magnetically disturbed above which the
        result is reported as 6D. VQF already ignores the magnetometer while it is
        disturbed (and until it has seen a field while turning faster than 20 °/s), so its
        9D output degrades to 6D on its own; a session that is disturbed nearly all the
        time never had a trustworthy heading.
    mag_norm_range_uT : tuple of float
        Median field norm outside this range means the magnetometer is not reading the
        Earth's field (uncalibrated, or near steel/magnets).
    gravity_lowpass_hz : float
        Cut-off of the low-pass that turns acceleration into gravity when a sensor has no
        gyroscope.
    max_gap_fill_s : float
        Gaps in the sample times up to this long are bridged with interpolated samples so
        the filter integrates over the right time; longer gaps restart the filter.
    rest_th_gyr_deg_s : float
        VQF rest detection: the angular rate stays within this of its 0.5 s low-pass
        (VQF's ``restThGyr``). At rest VQF takes that low-pass as the gyroscope bias,
        the only estimate of the bias about the vertical (heading) in 6D. VQF's 2 °/s
        suits a sensor on a table; a person holding a stretch sways (0.1–0.6 Hz, a few
        tenths of a degree), which crosses 2 °/s now and then: rest flickered on for
        moments in the sway, each took the sway's momentary rate as bias, and the heading
        then drifted up to 0.3 °/s through a 60 s held twist. At 3 °/s the whole hold is
        one rest period and the bias estimate averages the sway out. BROAD (a still
        sensor at rest) is unchanged; a steady rotation slower than this has always been
        indistinguishable from bias. Limit: the flicker only moves up: a simulated hold
        sway of 0.5–0.9° per component (default 0.4°) flickers at 3 °/s and drifts
        again. A longer low-pass (VQF's ``restFilterTau`` 2 s) covered all of those
        but takes the tail of a large movement into a still posture as bias (lying
        down in tests/test_signal_orientation.py; the live filter after a twist).
    bias_clip_deg_s : float
        Largest gyroscope bias VQF may estimate (its ``biasClip``, kept at VQF's 2 °/s:
        it also stops VQF taking a steady rotation faster than this for rest; at 10 °/s
        a slow 3 °/s twist vanished). Larger turn-on offsets are removed before VQF by
        :class:`~tracker.signal.orientation.StillBias`.
    """

    use_mag: Literal["auto", "always", "never"] = "auto"
    tau_acc_s: float = 3.0
    tau_mag_s: float = 9.0
    max_mag_disturbed: float = 0.95
    mag_norm_range_uT: tuple[float, float] = (15.0, 120.0)
    gravity_lowpass_hz: float = 1.5
    max_gap_fill_s: float = 5.0
    rest_th_gyr_deg_s: float = 3.0
    bias_clip_deg_s: float = 2.0

    def __post_init__(self) -> None:
        check_choice(self, "use_mag", ("auto", "always", "never"))
        check_positive(self, "tau_acc_s", "tau_mag_s", "gravity_lowpass_hz", "max_gap_fill_s",
                       "rest_th_gyr_deg_s", "bias_clip_deg_s")

    def vqf_params(self) -> dict[str, Any]:
        """Keyword parameters for ``vqf.offlineVQF`` / ``vqf.VQF``."""
        return {"tauAcc": float(self.tau_acc_s), "tauMag": float(self.tau_mag_s),
                "restThGyr": float(self.rest_th_gyr_deg_s), "biasClip": float(self.bias_clip_deg_s)}


@dataclass(frozen=True)
class CalibrationParams:
    """Sensor-to-body mounting estimation.

    Attributes
    ----------
    nominal_mounting : {"auto", "aligned", "flat_back"}
        A usual way of wearing the sensor: ``aligned`` (sensor axes = body axes),
        ``flat_back`` (flat on the back: x right, y up, z out of the back) or ``auto``
        (aligned when the sensor's z is within 45° of vertical, else flat on the back
        face out in any rotation: :func:`~tracker.signal.calibration.nominal_forward`).
        Only breaks a tie of the forward sign, or stands in (with a warning) when the
        data show no forward axis; the mounting itself is found from the data
        (:mod:`tracker.signal.calibration`).
    search_s : float
        The neutral still period is the first still period of at least ``min_still_s``
        within this many seconds of the start (else the first one at all).
    min_still_s : float
        Shortest still period accepted as neutral.
    still_max_turn_deg : float
        A still period turns by no more than this in all (integrated angular rate): a
        slow stretch (a 10° twist taking 4 s) turns slower than the ``still_gyr_rad_s``
        a swaying person's stillness needs, but is no neutral posture (a still run is
        cut where it has turned this far; a seated person's sway is a few tenths of a
        degree).
    still_gyr_rad_s : float
        Angular-rate magnitude (bias removed, low-passed) below which the person is still.
    still_acc_m_s2 : float
        Largest deviation of the acceleration norm from g while still.
    max_tilt_deg : float
        When the first still posture is not upright (gravity far from the walking's),
        the neutral one is the first still period within this of the walking's 'up'.
    motion_gyr_rad_s : float
        Angular rate above which samples feed the heading (forward-axis) estimate.
    min_heading_confidence : float
        Ratio of flexion-axis to lateral-axis rotation energy (eigenvalue ratio) needed to
        trust the heading from movement; below it the nominal heading is kept.
    min_confidence : float
        A mounting found with less confidence (0–1) than this carries a warning.
    """

    nominal_mounting: Literal["auto", "aligned", "flat_back"] = "auto"
    search_s: float = 60.0
    min_still_s: float = 1.0
    still_max_turn_deg: float = 1.5
    still_gyr_rad_s: float = 0.1
    still_acc_m_s2: float = 0.6
    max_tilt_deg: float = 35.0
    motion_gyr_rad_s: float = 0.15
    min_heading_confidence: float = 2.0
    min_confidence: float = 0.5

    def __post_init__(self) -> None:
        check_choice(self, "nominal_mounting", ("auto", "aligned", "flat_back"))
        check_positive(self, "search_s", "min_still_s", "still_max_turn_deg", "still_gyr_rad_s",
                       "still_acc_m_s2", "max_tilt_deg", "motion_gyr_rad_s", "min_heading_confidence", "min_confidence")


@dataclass(frozen=True)
class RepParams:
    """Repetition segmentation, exercise recognition, peak and hold.

    Attributes
    ----------
    event_rate_hz : float
        Events are found on block means of the samples at about this rate (body motion
        is slow); the per-sample angles and the peaks use the full rate.
    smooth_hz : float
        Zero-phase low-pass of the angles used for finding events (not for the peak).
    posture_max_deg : float
        A sample is upright / supine / all fours when the body's 'up' is within this of
        that posture's (lying trunk rotations reach ~40°, so this is wider).
    min_bout_s : float
        Shortest stay in one posture that can hold repetitions.
    min_peak_deg : float
        Smallest primary-angle excursion from the start posture that is a repetition
        (real seated twists turn a lower-back sensor by 5–10°, side bends by 2–8°)...
    min_peak_gravity_deg : float
        The same without a gyroscope: angles from gravity alone tilt with every
        acceleration (walking, a coupled sway), so the floor is higher.
    noise_factor : float
        ...and the smallest is at least this many times the noise of the smoothed angles
        at rest (:func:`tracker.signal.repcore.rep_levels`): the level adapts to the
        sensor and the person's stillness.
    own_range_frac : float
        ...and at least this fraction of the median size of the repetitions in the same
        plane and direction so far in the posture period (the person's own range:
        settling after a large stretch is not a small one; a person may bend 12° to one
        side and 4° to the other).
    detect_frac : float
        A candidate starts when an angle leaves the start posture by ``detect_frac``
        times the smallest repetition.
    drift_rate_deg_s : float
        Between repetitions the start posture follows changes slower than this
        (orientation drift, settling); faster movements are candidates.
    max_peak_deg : float
        Larger excursions are not stretches (turning round, lying down)...
    max_forward_bend_deg : float
        ...except a forward bend from upright, up to this: a standing toe touch tips the
        pelvis with the trunk, and a sensor over L4–S1 turns by 60–100° (its gravity then
        looks like all fours: :func:`tracker.signal.reps.bends_from_upright`).
    onset_rate_deg_s : float
        Start/end of a repetition: where the primary angle turns slower than this.
    ref_window_s : float
        The start posture is the orientation averaged over this long before the start.
    return_frac : float
        A repetition must come back to within this fraction of its peak.
    min_rep_s, max_rep_s : float
        Duration limits of a repetition.
    hold_band_frac : float
        A hold stays within this fraction of the peak (holds creep a little deeper)...
    hold_rate_frac : float
        ...turning slower than this fraction of the speed going in...
    hold_max_rate_deg_s : float
        ...or than this, whichever is larger...
    hold_slow_frac : float
        ...but never faster than this fraction of the speed going in: a slow stretch
        (10° in 4 s, 2.5 °/s) turns slower than ``hold_max_rate_deg_s``, and its way in
        and out is no hold (:func:`tracker.signal.repcore.hold_rate_limit`).
    min_hold_s : float
        Shorter plateaus are not holds (the repetition has no hold).
    active_acc_m_s2, active_frac, active_lowpass_hz : float
        The person is moving about (walking, sitting down, rolling over), not
        stretching, when the acceleration low-passed at ``active_lowpass_hz`` differs
        from 1 g by more than ``active_acc_m_s2`` for more than ``active_frac`` of the
        last second (:class:`~tracker.signal.reps.ActivityDetector`)...
    max_active_frac : float
        ...and a candidate active for more than this fraction of its time is rejected,
    settle_after_active_s : float
        ...as is one that begins within this long of moving about (a walk's first steps
        turn the pelvis by a few degrees before the last second looks like walking)...
    sustained_active_s : float
        ...where moving about is activity that has lasted this long (a knock or a
        footstep flags the detector for under a second:
        :meth:`~tracker.signal.reps.ActivityDetector.sustained`).
    walking_acc_m_s2 : float
        Walking, for the calibration: the 1 s standard deviation of the acceleration's
        magnitude above this for 3 s (:func:`~tracker.signal.reps.activity_mask`).
    drift_correction : bool
        Measure the primary angle against a reference interpolated in time between the
        start posture (before the rep) and the end posture (after it): a repetition
        returns to where it started, so their difference is orientation drift (6D
        heading drifts when a slowly creeping hold is taken for gyroscope bias).
    """

    event_rate_hz: float = 10.0
    smooth_hz: float = 2.0
    posture_max_deg: float = 55.0
    min_bout_s: float = 3.0
    min_peak_deg: float = 3.0
    min_peak_gravity_deg: float = 6.0
    noise_factor: float = 10.0
    own_range_frac: float = 0.3
    detect_frac: float = 0.6
    drift_rate_deg_s: float = 0.5
    max_peak_deg: float = 75.0
    max_forward_bend_deg: float = 130.0
    onset_rate_deg_s: float = 2.0
    ref_window_s: float = 0.5
    return_frac: float = 0.5
    min_rep_s: float = 0.7
    max_rep_s: float = 180.0
    hold_band_frac: float = 0.3
    hold_rate_frac: float = 0.15
    hold_max_rate_deg_s: float = 3.0
    hold_slow_frac: float = 0.6
    min_hold_s: float = 1.0
    active_acc_m_s2: float = 0.8
    active_frac: float = 0.25
    active_lowpass_hz: float = 4.0
    max_active_frac: float = 0.1
    settle_after_active_s: float = 1.0
    sustained_active_s: float = 1.0
    walking_acc_m_s2: float = 0.5
    drift_correction: bool = True

    def __post_init__(self) -> None:
        check_positive(self, "event_rate_hz", "smooth_hz", "posture_max_deg", "min_bout_s",
                       "min_peak_deg", "min_peak_gravity_deg", "noise_factor", "own_range_frac", "detect_frac",
                       "drift_rate_deg_s", "max_peak_deg", "max_forward_bend_deg", "onset_rate_deg_s", "ref_window_s",
                       "return_frac", "min_rep_s", "max_rep_s", "hold_band_frac", "hold_rate_frac",
                       "hold_max_rate_deg_s", "hold_slow_frac", "min_hold_s", "active_acc_m_s2", "active_frac",
                       "active_lowpass_hz", "max_active_frac", "settle_after_active_s", "sustained_active_s", "walking_acc_m_s2")


@dataclass(frozen=True)
class AnalysisParams:
    """All analysis settings.

    ``spikes`` and ``cracks`` are the spike detector's and crack judge's settings
    (:class:`tracker.signal.spikes.SpikeParams`, :class:`~tracker.signal.spikes.CrackParams`).
    """

    orientation: OrientationParams = field(default_factory=OrientationParams)
    calibration: CalibrationParams = field(default_factory=CalibrationParams)
    reps: RepParams = field(default_factory=RepParams)
    spikes: SpikeParams = field(default_factory=SpikeParams)
    cracks: CrackParams = field(default_factory=CrackParams)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings (tuples as lists)."""
        def plain(x: Any) -> Any:
            if isinstance(x, dict):
                return {k: plain(v) for k, v in x.items()}
            return list(x) if isinstance(x, tuple) else x

        return {name: plain(asdict(getattr(self, name)))
                for name in ("orientation", "calibration", "reps", "spikes", "cracks")}
