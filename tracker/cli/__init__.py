"""The ``tracker`` command line: a thin click layer over the library.

Each command lives in its own module of this package and is registered here. User
errors (:class:`tracker.errors.TrackerError`) print one line and exit 1; usage errors
exit 2 (click's convention).
"""

from __future__ import annotations

import importlib
import sys

import click

from ..errors import TrackerError
from ._common import TrackerGroup

#: Command modules, each defining a click command of the same name (``simulate`` in
#: ``tracker/cli/simulate.py``...).
COMMAND_MODULES = (
    "sessions", "show", "import_", "export", "delete", "simulate", "analyze",
    "scan", "record", "demo", "report", "doctor",
)


@click.group(cls=TrackerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tracker")
def cli() -> None:
    """Record, analyse and chart lower-back stretching sessions from one IMU.

    Stretch gently and slowly and stop if it hurts; constant, severe or injury-like
    pain, or a change in range of movement, is a reason to see a doctor.
    """


for _name in COMMAND_MODULES:
    cli.add_command(getattr(importlib.import_module(f".{_name}", __name__), _name))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        cli.main(args=argv, prog_name="tracker", standalone_mode=True)
    except TrackerError as exc:  # pragma: no cover - TrackerGroup handles these
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
