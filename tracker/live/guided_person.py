"""The guided demo's simulated person: does what the guide asks, and waits for it.

``tracker record --virtual --guided`` streams a simulated session through the emulated
tag. A recording made in advance cannot follow the guide: if the live analyser misses
one repetition, the guide waits for it while the recording moves on, and the guided
mode looks broken. :class:`GuidedPerson` closes the loop. It simulates the routine the
guide walks through (:mod:`tracker.routine`, one description for both; holds a little
longer than the guide's targets, since a person following the countdown comes back
once it ends), and hands the tag that session piece by piece (the tag's ``more``):

1. up to just after a repetition (the person is back in the start position);
2. then it looks at the guide: counted → on to the next repetition; not yet → it stays
   still in the start position a few seconds (the analyser reports a repetition only
   once the person is back); still not counted → it does that repetition again (another
   repetition of the same exercise and side from the simulation, so not the very same
   movement), up to a few times, then presses "skip" as a person would;
3. after the last repetition: the end of the session, then stillness until the
   recording stops (the guide stops it a few seconds after the routine is complete).

Pieces are cut where the person is still in one posture, so joining them changes
neither the orientation nor the posture; the simulated sensor's errors continue.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..recording import Recording
from ..routine import ExerciseSpec, Routine
from .guided import GuidedRoutine

__all__ = ["GuidedPerson", "following_routine"]

#: After a repetition ends, the person stays still this long before the guide is checked.
_SETTLE_S = 1.0
#: Stillness streamed per look at the guide while waiting for it to count a repetition.
_WAIT_PIECE_S = 0.5
#: How long the person waits for the guide before doing the repetition again.
_WAIT_S = 4.0
#: Wall-clock lag allowed between the tag sending and the guide having seen it.
_LAG_WALL_S = 0.5
#: Tries per repetition (the first one included) before pressing "skip".
_TRIES = 3
#: Holds of the simulated person: the guide's target times this, plus a reaction time.
_HOLD_MARGIN, _REACTION_S = 1.1, 0.5
#: The calibration step's "one gentle forward bend, about 20°" (guided.py), as the person does it.
_CALIBRATION_BEND = ExerciseSpec("forward_bend", (None,), 1, peak_deg=20.0, speed_out_deg_s=15.0,
                                 speed_back_deg_s=15.0, hold_s=0.0, rest_s=3.0)
#: What each guide step that needs a movement asks for: (exercise, side) of the step.
_ASKS = {"rep": lambda st: (st.exercise, st.side), "calibrate_bend": lambda st: ("forward_bend", None)}
#: After the session: at most this much stillness while the recording is being stopped.
_TAIL_STILL_S = 120.0


def _asked(rep: Any) -> str:
    """The guide's step exercise a simulated repetition answers: the name the analyser
    reports (the truth's ``exercise``, as the guide's steps name them: a seated ``twist``
    is a ``seated_twist``)."""
    return str(rep.exercise)


def following_routine(routine: Routine, *, calibration_bend: bool = True) -> Routine:
    """What the simulated person does: ``routine`` with holds beyond the guide's targets.

    With ``calibration_bend`` (the guide's calibration step) the person first bends
    forward once, gently, after the still moment.

    A person who follows the countdown comes back about a second after it ends; the
    simulator still varies each hold by the routine's variability around that (the guide
    counts a short hold too, with a note).
    """
    ex = tuple(dataclasses.replace(e, hold_s=e.hold_s * _HOLD_MARGIN + _REACTION_S) if e.hold_s > 0 else e
               for e in routine.exercises)
    if calibration_bend:
        ex = (_CALIBRATION_BEND,) + ex
    return dataclasses.replace(routine, exercises=ex)


class GuidedPerson:
    """Feed a virtual tag with a simulated person who follows ``guide``.

    Parameters
    ----------
    sim : Simulation
        A session of :func:`following_routine` of the guide's routine (same blocks,
        sides and repetitions, so the n-th movement is the guide's n-th step that asks
        for one: the calibration bend, then the repetitions).
    guide : GuidedRoutine
        The guide the live session drives (read only, except ``skip``).
    skip : callable, optional
        What the person presses when a repetition is never counted (default: nothing;
        the guide then waits).
    speed : float
        The tag's clock vs real time: the guide sees the data a frame or two late (wall
        time), so at high speeds the person waits more device seconds for it.
    impulse_windows : sequence of ImpulseWindow, optional
        The tag's kHz windows around the simulation's impulses (its time base): each
        piece carries those inside it (:attr:`piece_windows`), for the tag to send.

    Raises
    ------
    ValueError
        The simulation's repetitions are not the guide's (another routine).
    """

    def __init__(self, sim: Any, guide: GuidedRoutine, *, skip: Callable[[], None] | None = None,
                 speed: float = 1.0, impulse_windows: Sequence[Any] = ()) -> None:
        rec = sim.recording
        self._windows = list(impulse_windows)
        #: The impulse windows inside the piece handed out last, on that piece's time base.
        self.piece_windows: list[Any] = []
        self.rate_hz = float(rec.sample_rate_hz)
        self._acc, self._gyr, self._mag = rec.acc_m_s2, rec.gyr_rad_s, rec.mag_uT
        self._n = len(rec)
        self.guide = guide
        self.skip = skip
        self.wait_s = _WAIT_S + _LAG_WALL_S * float(speed)
        self.reps = list(sim.truth.reps)
        # the guide's steps that need a movement, in order: the n-th is the n-th simulated one
        self._rep_steps = [k for k, s in enumerate(guide.steps) if s.kind in _ASKS]
        asked = [_ASKS[guide.steps[k].kind](guide.steps[k]) for k in self._rep_steps]
        done = [(_asked(r), r.side) for r in self.reps]
        if asked != done:
            raise ValueError(f"the simulated session does not do the guide's repetitions: {done} vs {asked}")
        dur = (self._n - 1) / self.rate_hz
        # where each repetition is over and the person is still, before the next movement
        # (the next repetition or a change of posture): the end of its piece
        moves = sorted([r.start_s for r in self.reps] + [p.t_start_s for p in sim.truth.postures] + [dur])
        self._after = []
        for r in self.reps:
            nxt = next(t for t in moves if t > r.end_s + 1e-6) if moves[-1] > r.end_s else dur
            self._after.append(r.end_s + min(_SETTLE_S, 0.6 * (nxt - r.end_s)))
        self.rep = 0  # the repetition whose piece was streamed last (or comes first)
        self.tries = 1
        self.waited_s = 0.0
        self.redone = 0  # repetitions done again
        self.skipped = 0
        self._tail_s = 0.0
        self._ended = False
        self.log: list[tuple[str, int]] = []  # (what, repetition): what the person did

    # ------------------------------------------------------------------ pieces
    def _k(self, t_s: float) -> int:
        return int(np.clip(round(t_s * self.rate_hz), 0, self._n))

    def _piece(self, k0: int, k1: int) -> Recording:
        t0_s, t1_s = k0 / self.rate_hz, k1 / self.rate_hz
        self.piece_windows = [dataclasses.replace(w, t0_s=w.t0_s - t0_s) for w in self._windows
                              if t0_s <= w.t0_s and w.t0_s + len(w.acc_m_s2) / w.rate_hz <= t1_s]
        mag = None if self._mag is None else self._mag[k0:k1]
        t = np.arange(k1 - k0) / self.rate_hz
        return Recording(t, self._acc[k0:k1], self._gyr[k0:k1], mag)

    def _still(self, before_s: float) -> Recording:
        """Half a second of the stillness just before ``before_s`` (same posture)."""
        k1 = self._k(before_s)
        k0 = max(0, k1 - self._k(_WAIT_PIECE_S))
        return self._piece(k0, max(k1, k0 + 2))

    @property
    def first(self) -> Recording:
        """The start: calibration, any posture change, the first repetition."""
        if not self.reps:
            self._ended = True
            return self._piece(0, self._n)
        return self._piece(0, self._k(self._after[0]))

    def _counted(self, i: int) -> bool:
        g = self.guide
        return g.done or g.index > self._rep_steps[i]

    def more(self) -> Recording | None:
        """What the sensor records next (the virtual tag's ``more``)."""
        if self._ended:
            if self._tail_s >= _TAIL_STILL_S or self._n < 2:
                return None
            self._tail_s += _WAIT_PIECE_S
            return self._still(self._n / self.rate_hz)
        i = self.rep
        if not self._counted(i):
            if self.waited_s < self.wait_s:
                self.waited_s += _WAIT_PIECE_S
                return self._still(self.reps[i].start_s)
            self.waited_s = 0.0
            if self.tries < _TRIES:
                self.tries += 1
                self.redone += 1
                j = self._again(i)
                self.log.append(("again", i))
                return self._piece(self._k(self.reps[j].start_s - _WAIT_PIECE_S), self._k(self._after[j]))
            self.log.append(("skip", i))
            self.skipped += 1
            if self.skip is not None:
                self.skip()
        self.log.append(("done", i))
        self.rep, self.tries, self.waited_s = i + 1, 1, 0.0
        if self.rep < len(self.reps):
            return self._piece(self._k(self._after[i]), self._k(self._after[self.rep]))
        self._ended = True
        return self._piece(self._k(self._after[i]), self._n)

    def _again(self, i: int) -> int:
        """Another repetition like ``i`` (same exercise, side, position), nearest first; else ``i``."""
        r = self.reps[i]
        same = [j for j, o in enumerate(self.reps) if j != i and _asked(o) == _asked(r)
                and o.side == r.side and o.stance == r.stance]
        if not same:
            return i
        # alternate between the others on further tries
        same.sort(key=lambda j: abs(j - i))
        return same[(self.tries - 2) % len(same)]
