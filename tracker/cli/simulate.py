"""``tracker simulate``: write a simulated session (raw-sample CSV) and its ground truth."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

__all__ = ["simulate"]


@click.command("simulate")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Raw-sample CSV to write (design.md contract).")
@click.option("--truth", "truth_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Ground-truth JSON to write (reps, cracks, confounders, mounting, angles).")
@click.option("--rate", "rate_hz", type=click.FloatRange(10, 2000), default=100.0, show_default=True,
              help="Sample rate in Hz.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (same seed, same session).")
@click.option("--minutes", type=click.FloatRange(0.1, 240), default=None,
              help="Rough session length; <= 1.75 uses the short routine. Default: the full routine (~6 min).")
@click.option("--short", is_flag=True, help="One repetition per exercise and side (~1.5 min); same as --routine short.")
@click.option("--routine", "routine_name", type=click.Choice(["default", "short", "trunkyxl", "varied"]),
              default=None, help="default: design.md's routine (~6 min); short (~1.5 min); trunkyxl: the "
                                 "seated TrunkyXL protocol (quick, no holds, L4/5 amplitudes); varied: "
                                 "every plane, quick and held reps, U-turn walks between blocks.")
@click.option("--mounting", "mounting_name", type=str, default=None,
              help="How the sensor is worn: aligned, flat_back, flat_back_x_down, phone_upright_screen_in, "
                   "phone_upside_down_screen_out, phone_sideways_screen_out, phone_sideways_screen_in, "
                   "or any_flat / any (drawn from the seed). Default aligned.")
@click.option("--mag/--no-mag", default=False, show_default=True, help="Include a magnetometer.")
@click.option("--mounting-deg", type=click.FloatRange(0, 45), default=10.0, show_default=True,
              help="Largest sensor-vs-body misalignment (random axis).")
@click.option("--lever-arm", is_flag=True,
              help="Sensor 11 cm behind and 11 cm above the centre the lower back turns about, as a real "
                   "L4/5 sensor (its accelerometer then feels the bends' own acceleration).")
@click.option("--flat-back", is_flag=True, help="Tag worn flat on the back (sensor x right, y up, z out); "
                                             "same as --mounting flat_back.")
@click.option("--cracks", "n_cracks", type=click.IntRange(0, 100), default=None,
              help="Exact number of cracks (default: random, mostly near end of range).")
@click.option("--confounders/--no-confounders", default=True, show_default=True,
              help="Taps, strap slaps, vibration bursts and footsteps.")
@click.option("--ideal", is_flag=True, help="Perfect sensor: no noise, bias, jitter or drops.")
@click.option("--angles/--no-angles", "with_angles", default=True, show_default=True,
              help="Include the true angle time series in the truth JSON.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also save a PNG of angles and |acc| with the truth events marked.")
def simulate(out_path: Path, truth_path: Path | None, rate_hz: float, seed: int, minutes: float | None,
             short: bool, routine_name: str | None, mounting_name: str | None, mag: bool,
             mounting_deg: float, lever_arm: bool, flat_back: bool, n_cracks: int | None,
             confounders: bool, ideal: bool, with_angles: bool, plot_path: Path | None) -> None:
    """Simulate a stretching session as a lower-back IMU records it, with ground truth.

    Example: tracker simulate --out session.csv --truth truth.json --rate 100 --seed 3
    """
    from ..csvio import write_raw_csv
    from ..routine import Routine
    from ..simulate import L45_LEVER_ARM_M, MOUNTINGS, RANDOM_MOUNTINGS, SensorModel, simulate_session

    if short and routine_name not in (None, "short"):
        raise click.UsageError(f"--short and --routine {routine_name} contradict each other")
    if flat_back and mounting_name not in (None, "flat_back"):
        raise click.UsageError(f"--flat-back and --mounting {mounting_name} contradict each other")
    mounting = mounting_name or ("flat_back" if flat_back else "aligned")
    if mounting not in (*MOUNTINGS, *RANDOM_MOUNTINGS):
        raise click.BadParameter(f"{mounting!r}; expected one of {', '.join((*MOUNTINGS, *RANDOM_MOUNTINGS))}",
                                 param_hint="--mounting")
    routine = {"default": Routine.default, "short": Routine.short, "trunkyxl": Routine.trunkyxl,
               "varied": Routine.varied}[routine_name or ("short" if short else "default")]
    sensor = SensorModel.ideal() if ideal else SensorModel()
    sensor = dataclasses.replace(sensor, mounting_max_deg=mounting_deg, nominal_mounting=mounting,
                                 lever_arm_m=L45_LEVER_ARM_M if lever_arm else (0.0, 0.0, 0.0))
    # an explicit routine is kept whole; --minutes alone picks and stretches the default one
    chosen = None if routine_name is None and not short else routine()
    sim = simulate_session(
        seed=seed, rate_hz=rate_hz, routine=chosen, sensor=sensor,
        minutes=minutes, with_mag=mag, cracks=True if n_cracks is None else n_cracks,
        confounders=confounders,
    )
    write_raw_csv(sim.recording, out_path)
    if truth_path is not None:
        with open(truth_path, "w", encoding="utf-8", newline="\n") as fh:
            json.dump(sim.truth.to_json(angles=with_angles), fh, allow_nan=False)
            fh.write("\n")
    if plot_path is not None:
        from ..simulate import plot_simulation

        plot_simulation(sim).savefig(plot_path, dpi=100)
    t = sim.truth
    kinds: dict[str, int] = {}
    for c in t.confounders:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    conf = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "none"
    click.echo(
        f"wrote {len(sim.recording)} samples ({t.duration_s:.1f} s at {rate_hz:g} Hz) to {out_path}; "
        f"{len(t.reps)} reps, {len(t.cracks)} cracks, confounders: {conf}"
        + (f"; truth in {truth_path}" if truth_path else "")
    )
