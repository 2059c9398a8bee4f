"""``record --virtual --guided``: the simulated person does what the guide asks, and waits for it."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tracker.live.analyzer import LiveAnalyzer
from tracker.live.guided import GuidedRoutine
from tracker.live.guided_person import GuidedPerson, following_routine
from tracker.routine import Routine
from tracker.simulate import SensorModel, simulate_session


def _is_backbend(event) -> bool:
    return event.kind == "rep" and event.data["rep"].exercise == "chair_backbend"


def follow(seed: int, routine: Routine, *, miss_first_rep: bool = False):
    """Stream the person's pieces through a live analyser into the guide, as the tag would."""
    sim = simulate_session(seed=seed, rate_hz=100.0, routine=following_routine(routine),
                           sensor=SensorModel(drop_prob=0.0))
    guide = GuidedRoutine(routine, calibration_bend=True)
    live = LiveAnalyzer(100.0)
    person = GuidedPerson(sim, guide, skip=lambda: guide.skip(live.t_s or 0.0))
    piece, t0, missed = person.first, 0.0, False
    while piece is not None and not (guide.done and person._ended):
        t = t0 + np.arange(len(piece)) / 100.0
        for k in range(0, len(piece), 10):
            events = live.feed(t[k:k + 10], piece.acc_m_s2[k:k + 10], piece.gyr_rad_s[k:k + 10])
            if miss_first_rep and not missed and any(_is_backbend(e) for e in events):
                events, missed = [e for e in events if not _is_backbend(e)], True  # the guide never hears of it
            n_done = len(guide.completed)
            guide.update(live.t_s, events, calibrated=live.calibrated, posture=live.posture,
                         ready=live.angles_deg is not None, in_rep=live.in_rep, hold_s=live.hold_s,
                         tilt_deg=live.tilt_deg)
            for step in guide.completed[n_done:]:  # as the recording session does
                if "calibration_step_s" in step:
                    live.recalibrate(step["calibration_step_s"])
        t0 += len(piece) / 100.0
        piece = person.more()
    return sim, guide, person, live


@pytest.mark.parametrize("seed", [0, 1])
def test_the_person_does_every_step_the_guide_asks(seed):
    sim, guide, person, live = follow(seed, Routine.short())
    assert guide.done and person.skipped == 0 and person.redone == 0
    bend, *truth_reps = sim.truth.reps  # first the calibration step's forward bend
    assert bend.exercise == "forward_bend"
    (cal,) = [s for s in guide.completed if s["kind"] == "calibrate_bend"]
    assert not cal.get("skipped") and bend.start_s < cal["t_s"] < bend.end_s + 2.0
    reps = [s for s in guide.completed if s["kind"] == "rep"]
    assert len(reps) == len(truth_reps) == sum(s.kind == "rep" for s in guide.steps)
    for step, truth in zip(reps, truth_reps):  # each step was completed by that repetition
        assert not step.get("skipped")
        assert step["peak_deg"] == pytest.approx(truth.peak_deg, abs=3.0)
        assert step["hold_s"] >= guide.steps[step["index"]].hold_s - 1.0  # held until the countdown ended
    # the calibration bend is no stretch: the live counts hold the routine's repetitions only
    assert [(r.exercise, r.side) for r in live.reps] == [(r.exercise, r.side) for r in truth_reps]
    assert sum(live.rep_counts.values()) == len(truth_reps)


def test_a_repetition_the_guide_missed_is_done_again():
    sim, guide, person, live = follow(0, Routine.short(), miss_first_rep=True)
    assert person.redone == 1 and person.skipped == 0 and ("again", 1) in person.log
    assert guide.done and not any(s.get("skipped") for s in guide.completed)
    first = next(s for s in guide.completed if s["kind"] == "rep")
    assert first["title"].startswith("Chair back-bend")


def test_another_routine_is_refused():
    sim = simulate_session(seed=0, routine=Routine.short())
    with pytest.raises(ValueError, match="does not do the guide's repetitions"):
        GuidedPerson(sim, GuidedRoutine(Routine.default()))
    with pytest.raises(ValueError, match="does not do the guide's repetitions"):  # no calibration bend
        GuidedPerson(sim, GuidedRoutine(Routine.short(), calibration_bend=True))


@pytest.mark.timeout(180)
def test_record_virtual_guided_completes_every_step(data_dir):
    pytest.importorskip("bumble")
    from click.testing import CliRunner

    from tracker.cli import cli
    from tracker.live.guided import build_steps
    from tracker.sessions import analyse_session, impulse_windows_of
    from tracker.signal.spikes import detect_and_judge
    from tracker.store import Store

    result = CliRunner().invoke(cli, ["record", "--virtual", "--guided", "--no-prompt", "--speed", "40", "--seed", "0"])
    assert result.exit_code == 0, result.output
    steps = build_steps(Routine.default(), calibration_bend=True)
    n = sum(s.kind == "rep" for s in steps)
    assert f"guided routine: {n} of {n} repetitions done — complete" in result.output
    with Store.open(data_dir) as store:
        (info,) = store.sessions()
        done = store.events(info.id, "guided_step")
    assert sorted((e.data["index"], e.data["title"]) for e in done) == [(k, s.title) for k, s in enumerate(steps[:-1])]
    assert not any(e.data.get("skipped") for e in done)
    # the calibration bend is counted neither live nor by the session's analysis
    assert f"live view: {n} repetitions" in result.output
    with Store.open(data_dir) as store:
        analysis = analyse_session(store, info.id, save=False)
        windows = impulse_windows_of(store, info.id)
        rec = store.load_recording(info.id)
    assert len(analysis.reps) == n and "forward_bend" not in {r.exercise for r in analysis.reps}
    assert any("calibration step's bend" in note for note in analysis.summary.notes)
    # The tag sends its kHz windows as the person goes along (pieces re-timed by the
    # guide); the live view and the analysis weigh them alike, and they find pops the
    # motion sensor alone leaves out.
    assert windows and f"tag snippets: {len(windows)} kHz impulse windows used" in analysis.summary.notes
    live = re.search(r"live view: .*, (\d+) possible crack", result.output)
    assert live and int(live.group(1)) == len(analysis.cracks) >= 1, result.output
    alone = detect_and_judge(rec.t_s, rec.acc_m_s2, rec.gyr_rad_s, rec.meta.nominal_rate_hz, None, None)
    assert int(np.sum(alone["possible_crack"])) < len(analysis.cracks)


def test_a_routine_of_generic_movements_is_followed_and_counted():
    # TrunkyXL's seated protocol: quick forward/back bends, side bends, twists; the guide
    # names each step as the analyser will (a seated twist, a chair back-bend)
    sim, guide, person, live = follow(0, Routine.trunkyxl())
    assert guide.done and person.skipped == 0
    reps = [s for s in guide.completed if s["kind"] == "rep"]
    assert len(reps) == 18 and not any(s.get("skipped") for s in reps)
    names = [guide.steps[s["index"]].exercise for s in reps]
    assert names[:2] == ["forward_bend", "chair_backbend"] and names[-1] == "seated_twist"
    assert {guide.steps[s["index"]].position for s in reps} == {"upright"}
