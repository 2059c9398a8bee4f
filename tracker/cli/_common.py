"""Shared CLI pieces: error handling, the ``--data-dir`` option, opening the store."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any
from collections.abc import Callable

import click

from ..errors import TrackerError


class TrackerGroup(click.Group):
    """A group whose commands turn :class:`TrackerError` into one line and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrackerError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)
        except UnicodeEncodeError as exc:
            # An argument with bytes that are not UTF-8 (the shell passes them through as
            # surrogates) cannot name a session or be stored.
            bad = exc.object[exc.start:exc.end] if isinstance(exc.object, str) else ""
            click.echo(f"error: an argument is not valid UTF-8 text ({bad!a})", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


def data_dir_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--data-dir DIR``: else ``$TRACKER_HOME``, else the platform's user data dir."""

    @click.option(
        "--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="Where sessions are stored (default: $TRACKER_HOME, else the user data dir).",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, data_dir: Path | None, **kwargs: Any) -> Any:
        return func(*args, data_dir=data_dir, **kwargs)

    return wrapper


def open_store(data_dir: Path | None):  # noqa: ANN201 - avoid importing the store at CLI import
    from ..store import Store

    return Store.open(data_dir)


def echo_json(obj: Any) -> None:
    import json

    click.echo(json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False))


def environ_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in ("1", "true", "yes")


def plural(n: int, noun: str) -> str:
    """``"1 possible crack"``, ``"2 possible cracks"``."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def echo_crack_limits(rate_hz: float, gyro: bool, indent: str) -> None:
    """Under a session's possible cracks: what crack detection sees at its rate, in
    brackets (nothing for an unknown rate), so "no possible cracks" is not read as "no pops"."""
    from ..signal.spikes import detection_limits  # loaded with the analysis anyway

    limits = detection_limits(rate_hz, gyro)
    if limits:
        click.echo(f"{indent}({limits})")
