"""Compose the analysis: raw samples -> orientation -> angles -> repetitions, cracks.

``process_session(recording)`` is pure: same samples and params, same result. It runs

1. :func:`~tracker.signal.orientation.estimate_orientation` (offline VQF; gravity only
   for sensors without a gyroscope),
2. :func:`~tracker.signal.calibration.calibrate` (mounting + neutral reference),
3. :func:`~tracker.signal.reps.find_reps` (posture, repetitions, peak, hold),
4. the spike detector and crack judge of :mod:`tracker.signal.spikes`,
5. per-sample angles, each against its reference posture (below), and a summary.

References of the per-sample angles (``signals``), design.md's "neutral calibration, or
the rest posture that starts a repetition": before the first repetition of a posture
bout, the bout's reference (the calibration's neutral posture for the first upright
bout; after lying down, turning round or sitting down again, the posture settled into);
from each repetition's start, its start posture, interpolated in time to the posture it
returns to (which removes orientation drift, see
:class:`~tracker.signal.params.RepParams`); after it, that end posture. ``peak_deg`` is
the same angle at the peak. This matches the simulator's truth: seated, the calibration
posture (which each seated repetition starts from); lying and on all fours, the posture
the repetitions start from. Repetitions come from the repetition core
(:mod:`tracker.signal.repcore`), which :class:`tracker.live.analyzer.LiveAnalyzer` runs
too, sample by sample.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import schema
from ..errors import ValidationError
from ..quality import Quality
from ..recording import Recording
from . import spikes as spk
from . import witnesses as wit
from ._quat import (
    _left_matrix,
    _right_matrix,
    euler_yxz_from_quat,
    heading_tilt_from_quat,
    quat_conj,
    quat_from_two_vectors,
    quat_mul,
    rows_matmul,
)
from .angles import body_quat, body_up, gravity_angles_deg
from .calibration import Calibration, MountingPrior, calibrate, is_calibration_bend
from .orientation import Orientation, estimate_orientation, has_gyroscope
from .params import AnalysisParams
from .repcore import max_peak_of, peak_ok
from .reps import (
    POSTURES,
    ActivityDetector,
    Bout,
    RepEvent,
    activity_mask,
    confidence,
    find_reps,
    still_mask,
)
from .result import (
    ANALYSIS_VERSION,
    AnglesAvailable,
    Crack,
    OrientationSummary,
    Rep,
    SessionAnalysis,
    Spike,
    Summary,
)
from .witnesses import AudioTrack, ImpulseWindow

__all__ = ["process_session", "assign_rep"]

#: Shortest recording worth analysing.
MIN_SAMPLES = 10


def _f(x: float | None, nd: int = 3) -> float | None:
    """JSON-safe rounded float (None for None/NaN)."""
    if x is None:
        return None
    x = float(x)
    return None if not math.isfinite(x) else round(x, nd)


def _median_rate_hz(t_s: np.ndarray) -> float:
    """1 / median sample period (of at most ~100k periods spread over the session)."""
    step = max(1, (t_s.size - 1) // 100_000)
    dt = t_s[step::step] - t_s[step - 1:-1:step] if step > 1 else np.diff(t_s)
    return float(1.0 / np.median(dt))


def assign_rep(t_s: float, reps: list[Rep] | tuple[Rep, ...]) -> int | None:
    """Index of the repetition whose ``[start_s, end_s]`` contains ``t_s``, else None."""
    for i, r in enumerate(reps):
        if r.start_s <= t_s <= r.end_s:
            return i
    return None


def _witnesses(audio: AudioTrack | None, windows: Sequence[ImpulseWindow], notes: list[str]
               ) -> spk.Witnesses | None:
    if audio is None and not windows:
        return None
    sound = None if audio is None else wit.audio_transients(audio)
    snippets = wit.snippet_evidence(windows) if windows else None
    if sound is not None:
        notes.append(f"sound: {sound['t_s'].size} short broadband transients heard")
    if snippets is not None:
        notes.append(f"tag snippets: {snippets['t_s'].size} kHz impulse windows used")
    return spk.Witnesses(audio=sound, snippets=snippets)


def _spikes_and_cracks(rec: Recording, fs: float, rest: np.ndarray, params: AnalysisParams,
                       reps: list[Rep], notes: list[str], acc_norm: np.ndarray | None = None,
                       witnesses: spk.Witnesses | None = None) -> tuple[list[Spike], list[Crack]]:
    # the Recording's arrays are validated: the internal path skips a second validation
    judged = spk.detect_and_judge(rec.t_s, rec.acc_m_s2, rec.gyr_rad_s, fs, params.spikes,
                                  params.cracks, rest, acc_norm, witnesses)
    spikes: list[Spike] = []
    cracks: list[Crack] = []
    t = np.asarray(judged["t_s"], dtype=float)
    if witnesses is not None and witnesses.audio is not None:
        for ta in wit.audible_without_spike(witnesses.audio, t):
            notes.append(f"audible pop at {ta:.2f} s without an IMU spike (the sensor did not see it)")
    if not t.size:
        return spikes, cracks
    peak = np.asarray(judged["peak_m_s2"], dtype=float)
    score = np.asarray(judged["crack_score"], dtype=float)
    poss = np.asarray(judged["possible_crack"], dtype=bool)
    kind = np.asarray(judged["kind"], dtype=object)
    if rec.meta.profile in spk.PHONE_APP_PROFILES:
        h = params.cracks.handling_s
        touch = (t < rec.t_s[0] + h) | (t > rec.t_s[-1] - h)
        for i in np.flatnonzero(touch & poss):
            notes.append(f"spike at {t[i]:.2f} s: within {h:g} s of the start or end of a phone recording, "
                         "taken as the touch on the screen, not a possible crack")
        poss = poss & ~touch
        kind = np.where(touch & (kind == "possible_crack"), "tap", kind)
    for i in np.argsort(t, kind="stable"):
        spikes.append(Spike(t_s=float(t[i]), peak_m_s2=float(peak[i]), possible_crack=bool(poss[i]),
                            crack_score=float(score[i]), kind=str(kind[i])))
        if poss[i]:
            cracks.append(Crack(t_s=float(t[i]), peak_m_s2=float(peak[i]), score=float(score[i]),
                                rep=assign_rep(float(t[i]), reps)))
    return spikes, cracks


#: A peak this close to its repetition's hold is in it (_rep_objects).
_PEAK_IN_HOLD_S = 0.3


def _rep_objects(events: list[RepEvent], t: np.ndarray) -> list[Rep]:
    out = []
    for e in events:
        hs = None if e.hold_start is None else float(t[e.hold_start])
        he = None if e.hold_end is None else float(t[e.hold_end])
        if hs is not None and he is not None:
            # the peak is measured at the full rate, the hold's ends from the speed edges:
            # a peak on the hold's edge stays in it
            pk_s = float(t[e.peak])
            if hs - _PEAK_IN_HOLD_S <= pk_s <= he + _PEAK_IN_HOLD_S:
                hs, he = min(hs, pk_s), max(he, pk_s)
        out.append(Rep(
            exercise=e.exercise, side=e.side, start_s=float(t[e.start]), hold_start_s=hs,
            hold_end_s=he, end_s=float(t[e.end - 1]),
            hold_s=None if hs is None or he is None else he - hs,
            peak_deg=float(e.peak_deg), peak_s=float(t[e.peak]), confidence=float(e.confidence),
            plane=e.plane, posture=e.posture,
        ))
    return out


def _reference_changes(parts: list[Bout], events: list[RepEvent], neutral: tuple[int, int]
                       ) -> list[tuple[int, tuple[int, int]]]:
    """Where each reference posture starts to apply: ``(sample, reference range)``, sorted.

    A part (posture bout) starts with its own reference (the neutral posture for the
    first upright one); from each repetition's start its start posture applies, from its
    end the posture it returned to.
    """
    changes: list[tuple[int, tuple[int, int]]] = [(0, neutral)]
    for part in parts:
        changes.append((part.start, (part.ref_start, part.ref_end)))
    for e in events:
        changes.append((e.start, (e.ref_start, e.ref_end)))
        if e.after is not None:
            changes.append((e.end, e.after))
    changes.sort(key=lambda c: c[0])
    return changes


def _keep_reference_through_turns(changes: list[tuple[int, tuple[int, int]]], parts: list[Bout],
                                  q_wb_ref: Any) -> list[tuple[int, tuple[int, int]]]:
    """Drop the re-referencing of an upright part whose posture differs from the one in
    force only by heading (the person turned round): the re-levelled reference shows
    the turn as axial rotation (180° after a U-turn) instead of a jump back to 0.
    Sitting down, lying down or leaning differently (tilt changed) still re-reference.
    """
    starts = {p.start: (p.ref_start, p.ref_end) for p in parts}
    out: list[tuple[int, tuple[int, int]]] = []
    for i, (at, ref) in enumerate(changes):
        if out and i > 0 and starts.get(at) == ref:
            up_old, up_new = body_up(q_wb_ref(out[-1][1])), body_up(q_wb_ref(ref))
            if (min(up_old[2], up_new[2]) >= _LEVEL_MIN_COS
                    and float(up_old @ up_new) >= _SAME_TILT_COS):
                continue
        out.append((at, ref))
    return out


#: ``[a, b)`` piece of the session and its reference: a fixed sample range, or the
#: repetition whose reference moves from its start to its end posture.
_Segment = tuple[int, int, tuple[int, int] | RepEvent]


def _segments(n: int, changes: list[tuple[int, tuple[int, int]]], events: list[RepEvent]
              ) -> list[_Segment]:
    """``[a, b)`` pieces of the session with a fixed reference range, or inside a
    repetition whose reference moves (the event itself)."""
    moving = sorted((e for e in events if e.after is not None), key=lambda e: e.start)
    cuts = sorted({0, n, *(c[0] for c in changes), *(e.start for e in moving), *(e.end for e in moving)})
    starts = [c[0] for c in changes]
    out: list[_Segment] = []
    k = 0
    for a, b in zip(cuts[:-1], cuts[1:]):
        if b <= a or a >= n:
            continue
        while k < len(moving) and moving[k].end <= a:
            k += 1
        if k < len(moving) and moving[k].start <= a < moving[k].end:
            out.append((a, b, moving[k]))
        else:
            out.append((a, b, changes[bisect.bisect_right(starts, a) - 1][1]))
    return out


def _mean_quat(q: np.ndarray) -> np.ndarray:
    q = q * np.sign(q @ q[len(q) // 2])[:, None]
    # q.mean(axis=0) and np.linalg.norm(m) without their Python wrappers (called once
    # per reference posture, hundreds of times an hour); the same arithmetic
    m = np.add.reduce(q, axis=0) / q.shape[0]
    return m / np.sqrt(m.dot(m))


def _signal_angles(q_ws: np.ndarray, q_sb: np.ndarray, up_b: np.ndarray | None,
                   has_heading: bool, segments: list[_Segment], q_wb_ref: Any) -> np.ndarray:
    """Angles (deg) of every sample against its reference (see :func:`_segments`).

    Inside a repetition the reference moves from its start posture to the posture it
    returned to, in proportion to time (linear interpolation of the two quaternions: the
    same drift correction as the repetitions' ``peak_deg``). ``q_wb_ref(range)`` gives
    the body orientation averaged over a sample range. Works in cache-sized blocks and
    writes into one output array: an hour at 200 Hz is 720k samples.
    """
    n = q_ws.shape[0]
    ang = np.empty((n, 3))
    if not has_heading:
        assert up_b is not None

        def up_ref(r: tuple[int, int]) -> np.ndarray:
            u = up_b[r[0]:max(r[1], r[0] + 1)].mean(axis=0)
            return u / np.linalg.norm(u)

        for a, b, ref in segments:
            if isinstance(ref, RepEvent):
                w = np.linspace(0.0, 1.0, ref.end - ref.start)[a - ref.start:b - ref.start, None]
                assert ref.after is not None  # _segments: only repetitions with an end posture
                u = (1.0 - w) * up_ref((ref.ref_start, ref.ref_end)) + w * up_ref(ref.after)
                ang[a:b] = gravity_angles_deg(up_b[a:b], u / np.linalg.norm(u, axis=1, keepdims=True))
            else:
                ang[a:b] = gravity_angles_deg(up_b[a:b], up_ref(ref))
        return ang

    # conj(ref) ⊗ q_ws ⊗ q_sb is one 4x4 matrix per reference (as quat_mul3 builds it),
    # built once per reference: most segments are short
    r_sb = _right_matrix(q_sb)
    refs: dict[tuple[int, int], np.ndarray] = {}
    mats: dict[tuple[tuple[int, int], bool], np.ndarray] = {}

    def q_ref(r: tuple[int, int]) -> np.ndarray:
        if r not in refs:
            refs[r] = q_wb_ref(r)
        return refs[r]

    def mat(r: tuple[int, int], flip: bool = False) -> np.ndarray:
        if (r, flip) not in mats:
            q = -q_ref(r) if flip else q_ref(r)
            mats[(r, flip)] = _left_matrix(quat_conj(q)) @ r_sb
        return mats[(r, flip)]

    levelled: dict[tuple[int, int], np.ndarray] = {}
    level_refs: set[tuple[int, int]] = set()

    def mat_level(r: tuple[int, int]) -> np.ndarray:
        """A fixed upright reference, re-levelled: turning round leaves flexion alone.

        ``conj(Q) ⊗ q_rel ⊗ Q`` with ``Q`` taking body z onto the reference's vertical:
        the relative rotation seen in a frame whose z is the reference's world vertical,
        decomposed heading first (:func:`heading_tilt_from_quat`), so a turn about the
        vertical is all axial rotation and flexion / lateral bend are the tilt in the
        body's own heading (a tilted reference would otherwise turn ψ into flexion and
        lateral bend of up to twice its tilt, and a lean would flip sign after a
        U-turn). Lying and all-fours references (far from upright) keep the body axes.
        """
        if r not in levelled:
            q = q_ref(r)
            u = body_up(q)
            if u[2] >= _LEVEL_MIN_COS:
                level_refs.add(r)
                lq = quat_from_two_vectors(_EZ, u)
                levelled[r] = (_left_matrix(quat_conj(quat_mul(q, lq)))
                               @ _right_matrix(quat_mul(q_sb, lq)))
            else:
                levelled[r] = mat(r)
        return levelled[r]

    # the Euler angles of consecutive pieces are computed together, a block at a time:
    # one call per short segment would cost more than its arithmetic
    pending: list[np.ndarray] = []  # q_rel pieces (4, m), consecutive from sample `done`
    done = n_pending = 0
    kind = False  # pieces of one kind: True = levelled (heading first), False = y–x–z

    def flush() -> None:
        nonlocal done, n_pending
        q = pending[0] if len(pending) == 1 else np.concatenate(pending, axis=1)
        euler = heading_tilt_from_quat if kind else euler_yxz_from_quat
        ang[done:done + n_pending] = euler(q.T)
        done += n_pending
        n_pending = 0
        pending.clear()

    for a0, b0, ref in segments:
        lev = not isinstance(ref, RepEvent) and (mat_level(ref) is not None and ref in level_refs)
        if pending and lev != kind:
            flush()
        kind = lev
        for a in range(a0, b0, _BLOCK):
            b = min(b0, a + _BLOCK)
            if isinstance(ref, RepEvent):
                # conj((1-w) qs + w qe) ⊗ q = (1-w) conj(qs) ⊗ q + w conj(qe) ⊗ q: two 4x4
                # products; the Euler formulas do not need the result normalised
                r0, r1 = (ref.ref_start, ref.ref_end), ref.after
                assert r1 is not None  # _segments: only repetitions with an end posture
                flip = not q_ref(r1) @ q_ref(r0) >= 0
                w = (np.arange(a, b) - ref.start)[:, None] / max(1, ref.end - ref.start - 1)
                q_rel = ((1.0 - w) * rows_matmul(mat(r0), q_ws[a:b])
                         + w * rows_matmul(mat(r1, flip), q_ws[a:b]))
            else:  # conj(ref) ⊗ q_ws ⊗ q_sb (levelled): one 4x4 product for the block
                q_rel = rows_matmul(mat_level(ref), q_ws[a:b])
            pending.append(q_rel.T)
            n_pending += q_rel.shape[0]
            if n_pending >= _BLOCK:
                flush()
    if pending:
        flush()
    ang *= 180.0 / np.pi
    # a turn past ±180° against one fixed reference goes on (190°, not −170°)
    k = 0
    while k < len(segments):
        a, b, ref = segments[k]
        if not isinstance(ref, RepEvent):
            while k + 1 < len(segments) and segments[k + 1][2] == ref:
                k += 1
                b = segments[k][1]
            col = ang[a:b, 2]
            if b - a > 1 and np.abs(np.diff(col)).max() > 180.0:
                ang[a:b, 2] = np.unwrap(col, period=360.0)
        k += 1
    return ang


def _reference_column(n: int, t: np.ndarray, segments: list[_Segment], neutral: tuple[int, int]
                      ) -> pd.Categorical:
    """Per sample, the name of the reference posture its angles are measured against.

    ``neutral`` (the calibration's), ``posture at T s`` (the posture settled into at T,
    e.g. after turning round or lying down), or ``posture at T0 s -> T1 s`` inside a
    repetition (its start posture moving to the one it returns to). A change of name is
    where the angles may jump: the reference changed, not the body.
    """
    codes = np.empty(n, dtype=np.int32)
    names: dict[str, int] = {}
    for a, b, ref in segments:
        if isinstance(ref, RepEvent):
            after = ref.after if ref.after is not None else (ref.ref_start, ref.ref_end)
            name = f"posture at {t[ref.ref_start]:.1f} s -> {t[min(after[0], n - 1)]:.1f} s"
        elif ref == neutral:
            name = "neutral"
        else:
            name = f"posture at {t[min(ref[0], n - 1)]:.1f} s"
        codes[a:b] = names.setdefault(name, len(names))
    return pd.Categorical.from_codes(codes, categories=list(names), validate=False)


#: References within 45° of upright are re-levelled (see ``_signal_angles``).
_LEVEL_MIN_COS = math.cos(math.radians(45.0))
_EZ = np.array([0.0, 0.0, 1.0])
#: Two upright postures whose 'up' directions are within 25° differ by heading (turned
#: round), not by posture (sat down, lay down).
_SAME_TILT_COS = math.cos(math.radians(25.0))


#: Samples per block of the per-sample angle computation (temporaries stay in cache).
_BLOCK = 16384


def _summary(reps: list[Rep], spikes: list[Spike], cracks: list[Crack], cal: Calibration,
             ori: Orientation, quality: Quality, notes: list[str],
             posture_time: dict[str, float]) -> Summary:
    return Summary.of_events(
        reps, spikes, cracks,
        angles_available=AnglesAvailable(axial_rotation=ori.has_heading),
        orientation=OrientationSummary(mode=ori.mode,
                                       mag_disturbed_fraction=_f(ori.mag_disturbed_fraction),
                                       samples_interpolated=int(ori.n_filled)),
        calibration=cal.to_dict(),
        reference=("angles and peak_deg: each repetition's start posture (interpolated to "
                   "its end posture across the repetition, which removes drift); before "
                   "the first repetition the neutral calibration posture, or the posture "
                   "settled into after turning round or changing position; the angles "
                   f"CSV names the one in force per sample (column '{schema.REFERENCE_COLUMN}')"),
        posture_s={k: _f(v, 1) for k, v in posture_time.items()},
        data_quality=quality,
        notes=tuple(notes),
    )


def process_session(recording: Recording, *, params: AnalysisParams | None = None,
                    mounting_prior: MountingPrior | None = None,
                    calibration_step_s: tuple[float, float] | None = None,
                    audio: AudioTrack | None = None,
                    impulse_windows: Sequence[ImpulseWindow] = ()) -> SessionAnalysis:
    """Analyse one recorded session.

    Parameters
    ----------
    recording : Recording
        Samples in SI units (see :mod:`tracker.recording`).
    params : AnalysisParams, optional
    mounting_prior : MountingPrior, optional
        The mounting stored for the device (an earlier session found it): used when this
        recording alone cannot tell (it starts in the middle of a movement).
    calibration_step_s : (float, float), optional
        Time window of a calibration step (still, then one gentle forward bend) in the
        recording, e.g. the one ``tracker record --guided`` starts with.
    audio : AudioTrack, optional
        The phone's microphone on the session's time base: a short broadband sound at
        an IMU spike raises its crack score; one without a spike is named in the notes
        (:mod:`tracker.signal.witnesses`).
    impulse_windows : sequence of ImpulseWindow
        tracker-imu's kHz snippets around impulses: their high-frequency share raises
        or lowers the score of the spike they belong to.

    Returns
    -------
    SessionAnalysis
        ``signals`` (one row per sample: ``t_s``, ``flexion_deg``, ``lateral_bend_deg``,
        ``axial_rotation_deg``, ``q_w..q_z`` (sensor orientation, ENU, scalar first),
        ``rest``, ``acc_norm_m_s2``, ``posture``, ``rep`` (index or -1), ``primary_deg``
        (the repetition's primary angle against its start posture, NaN outside),
        ``reference`` (the name of the reference posture the angles are measured
        against)), ``reps``, ``spikes``, ``cracks`` and a :class:`~tracker.signal.result.Summary`.

    Raises
    ------
    ValidationError
        When the recording is too short to analyse.

    Examples
    --------
    >>> from tracker.simulate import simulate_session
    >>> sim = simulate_session(seed=1, rate_hz=100.0, minutes=1)
    >>> res = process_session(sim.recording)
    >>> [r.exercise for r in res.reps][:2]
    ['chair_backbend', 'seated_twist']
    """
    params = params or AnalysisParams()
    rec = recording
    n = len(rec)
    if n < MIN_SAMPLES:
        raise ValidationError(f"recording has {n} samples; at least {MIN_SAMPLES} are needed to analyse it")
    t = rec.t_s
    fs = _median_rate_hz(t)
    notes: list[str] = []
    profile = rec.meta.profile

    # 1. orientation at the full rate
    ori = estimate_orientation(t, rec.acc_m_s2, rec.gyr_rad_s, rec.mag_uT, sampling_rate_hz=fs,
                               params=params.orientation, profile=profile)
    notes.extend(ori.notes)
    gyr_ok = has_gyroscope(rec.gyr_rad_s, profile)

    # 2. calibration and events on block means at ~event_rate_hz: body motion is slow
    #    (the events are smoothed at 2 Hz), and this keeps an hour at 400 Hz fast
    dec = _Decimated.of(t, ori, rec.acc_m_s2, rec.gyr_rad_s, params.reps.event_rate_hz, fs)
    # walking (vigorous movement): 'up' and which way is forward for the calibration;
    # without a gyroscope it also keeps shaken gravity angles out of the repetitions
    walking_d = activity_mask(dec.acc_m_s2, dec.fs, params.reps.walking_acc_m_s2)
    cal = calibrate(dec.t_s, dec.acc_m_s2, dec.gyr_rad_s, dec.q_world_sensor,
                    sampling_rate_hz=dec.fs, params=params.calibration, use_movement=gyr_ok,
                    prior=mounting_prior, step_s=calibration_step_s, active=walking_d)
    notes.extend(cal.notes)
    q_wb_d = body_quat(dec.q_world_sensor, cal.q_sensor_body)
    still_d = (still_mask(dec.gyr_rad_s, dec.fs, params.calibration.still_gyr_rad_s)
               if gyr_ok else dec.rest)
    if cal.neutral_start_s is not None and cal.neutral_end_s is not None:
        neutral_d = (int(np.searchsorted(dec.t_s, cal.neutral_start_s)),
                     int(np.searchsorted(dec.t_s, cal.neutral_end_s, side="right")))
    else:
        neutral_d = (0, max(1, min(dec.n, int(round(dec.fs)))))
    # moving about (walking, sitting down) is not stretching: the live analyser's causal
    # detector, on the block means (its low-pass keeps far below their rate)
    detector = ActivityDetector(dec.fs, params.reps)
    active_d = detector.update(dec.acc_m_s2)
    # (measure=False: the peaks are measured below at the full rate)
    events_d, parts_d, posture_d = find_reps(dec.t_s, q_wb_d, still_d, sampling_rate_hz=dec.fs,
                                             params=params.reps, has_heading=ori.has_heading,
                                             neutral=neutral_d, measure=False, active=active_d,
                                             moving=detector.sustained(active_d))

    # 3. back to the full rate: per-sample angles against their references, peaks
    q_sb = cal.q_sensor_body
    events = [dec.event_to_full(e) for e in events_d]
    parts = [dec.bout_to_full(b) for b in parts_d]
    neutral = dec.range_to_full(neutral_d)
    up_b = None if ori.has_heading else body_up(body_quat(ori.quat_wxyz, q_sb))

    r_sb = _right_matrix(q_sb)  # body_quat(q, q_sb) is this matrix applied to q

    def q_wb_ref(r: tuple[int, int]) -> np.ndarray:
        return _mean_quat(rows_matmul(r_sb, ori.quat_wxyz[r[0]:max(r[1], r[0] + 1)]))

    changes = _keep_reference_through_turns(_reference_changes(parts, events, neutral), parts,
                                            q_wb_ref)
    segments = _segments(n, changes, events)
    ang = _signal_angles(ori.quat_wxyz, q_sb, up_b, ori.has_heading, segments, q_wb_ref)
    rep_col = np.full(n, -1, dtype=np.int64)
    primary = np.full(n, np.nan)
    kept: list[RepEvent] = []
    for e in events:  # the peak at the full rate, against the drift-corrected start posture
        trace = ang[e.start:e.end, e.primary]
        finite = np.isfinite(trace)
        if finite.all():  # the usual case: argmax is nanargmax without its NaN copy
            k = int(np.abs(trace).argmax())
        elif finite.any():
            k = int(np.nanargmax(np.abs(trace)))
        else:
            continue
        if not peak_ok(float(trace[k]), params.reps, e.min_peak_deg,
                       max_peak_of(params.reps, e.posture, e.primary, float(trace[k]))):
            continue
        if is_calibration_bend(float(t[e.start + k]), calibration_step_s):
            notes.append(f"the calibration step's bend at {t[e.start + k]:.1f} s is not counted as a repetition")
            continue
        seg = np.abs(ang[e.start:e.end])
        conf = confidence([float(np.nanmax(seg[:, c])) if np.isfinite(seg[:, c]).any() else 0.0
                           for c in range(3)], e.primary)
        rep_col[e.start:e.end] = len(kept)
        primary[e.start:e.end] = trace
        kept.append(dataclasses.replace(e, peak=e.start + k, peak_deg=float(trace[k]),
                                        primary_deg=trace, confidence=conf))
    events = kept
    reps = _rep_objects(events, t)
    still = dec.to_full(still_d)
    acc_norm = np.sqrt(np.einsum("ij,ij->i", rec.acc_m_s2, rec.acc_m_s2))
    spikes, cracks = _spikes_and_cracks(rec, fs, still, params, reps, notes, acc_norm,
                                        _witnesses(audio, impulse_windows, notes))

    q = ori.quat_wxyz
    posture = dec.to_full(posture_d)
    signals = pd.DataFrame({
        "t_s": t,
        "flexion_deg": ang[:, 0], "lateral_bend_deg": ang[:, 1], "axial_rotation_deg": ang[:, 2],
        "q_w": q[:, 0], "q_x": q[:, 1], "q_y": q[:, 2], "q_z": q[:, 3],
        "rest": ori.rest,
        "acc_norm_m_s2": acc_norm,
        "posture": pd.Categorical.from_codes(posture, categories=list(POSTURES), validate=False),
        "rep": rep_col,
        "primary_deg": primary,
        schema.REFERENCE_COLUMN: _reference_column(n, t, segments, neutral),
    }, copy=False)
    quality = Quality.of_times(t, nominal_rate_hz=rec.meta.nominal_rate_hz, period_s=1.0 / fs)
    counts = np.bincount(posture_d, minlength=len(POSTURES))
    posture_time = {name: counts[i] / dec.fs for i, name in enumerate(POSTURES)}
    summary = _summary(reps, spikes, cracks, cal, ori, quality, notes, posture_time)
    return SessionAnalysis(
        signals=signals, reps=tuple(reps), spikes=tuple(spikes), cracks=tuple(cracks),
        summary=summary, sample_rate_hz=fs, duration_s=rec.duration_s,
        analysis_version=ANALYSIS_VERSION, params=params.to_dict(),
    )


@dataclass(frozen=True, eq=False)
class _Decimated:
    """Block means of the samples (orientation: each block's middle sample).

    Block ``i`` covers full-rate samples ``[starts[i], starts[i + 1])``.
    """

    starts: np.ndarray
    mid: np.ndarray
    n_full: int
    fs: float
    t_s: np.ndarray
    q_world_sensor: np.ndarray
    acc_m_s2: np.ndarray
    gyr_rad_s: np.ndarray  # bias removed
    rest: np.ndarray

    @property
    def n(self) -> int:
        return int(self.starts.size)

    @classmethod
    def of(cls, t: np.ndarray, ori: Orientation, acc: np.ndarray, gyr: np.ndarray,
           rate_hz: float, fs: float) -> "_Decimated":
        n = t.size
        k = max(1, int(fs // rate_hz))
        starts = np.arange(0, n, k)
        counts = np.diff(np.append(starts, n))
        mid = starts + (counts - 1) // 2
        if k == 1:
            acc_d, gyr_d = acc, gyr - ori.gyr_bias_rad_s
        else:  # the bias changes slowly: its value mid-block is the block's
            acc_d = np.add.reduceat(acc, starts, axis=0) / counts[:, None]
            gyr_d = np.add.reduceat(gyr, starts, axis=0) / counts[:, None] - ori.gyr_bias_at(mid)
        return cls(starts, mid, n, fs / k, t[mid], ori.quat_wxyz[mid], acc_d, gyr_d, ori.rest[mid])

    def _edge(self, i: int) -> int:
        """Full-rate index of a block boundary (``i == n`` is the end)."""
        return int(self.starts[i]) if i < self.n else self.n_full

    def range_to_full(self, r: tuple[int, int]) -> tuple[int, int]:
        return self._edge(r[0]), max(self._edge(r[1]), self._edge(r[0]) + 1)

    def to_full(self, x: np.ndarray) -> np.ndarray:
        return np.repeat(x, np.diff(np.append(self.starts, self.n_full)))

    def bout_to_full(self, b: Bout) -> Bout:
        ref = self.range_to_full((b.ref_start, b.ref_end))
        return Bout(self._edge(b.start), self._edge(b.end), b.posture, *ref)

    def event_to_full(self, e: RepEvent) -> RepEvent:
        mid = self.mid
        ref = self.range_to_full((e.ref_start, e.ref_end))
        return dataclasses.replace(
            # the onset and the return are points in time: the middle of their blocks
            e, start=int(mid[e.start]), end=int(mid[e.end - 1]) + 1, peak=int(mid[e.peak]),
            # a hold covers whole blocks: from the first one's start to the last one's end
            hold_start=None if e.hold_start is None else self._edge(e.hold_start),
            hold_end=None if e.hold_end is None else self._edge(e.hold_end + 1) - 1,
            ref_start=ref[0], ref_end=ref[1],
            after=None if e.after is None else self.range_to_full(e.after),
        )
