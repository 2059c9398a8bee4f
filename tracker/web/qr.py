"""A QR code of the page's address, drawn in the terminal for a phone to scan."""

from __future__ import annotations

__all__ = ["terminal_qr"]

# two modules per character cell: (upper, lower) light? -> glyph
_CELLS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def terminal_qr(text: str, *, color: bool = True) -> str | None:
    """The QR code of ``text`` as lines of half-block characters, or None without ``qrcode``.

    Light modules are drawn as blocks. With ``color`` the code sets a black background
    and white blocks (ANSI), so it scans on light and dark terminals alike; without it,
    it assumes light text on a dark background.
    """
    try:
        import qrcode
    except ImportError:
        return None
    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    qr.add_data(text)
    qr.make(fit=True)
    dark = qr.get_matrix()  # True = dark module, quiet zone included
    rows = [[not d for d in row] for row in dark]
    if len(rows) % 2:
        rows.append([True] * len(rows[0]))  # quiet zone is light
    on, off = ("\x1b[40;97m", "\x1b[0m") if color else ("", "")
    lines = []
    for r in range(0, len(rows), 2):
        lines.append(on + "".join(_CELLS[(a, b)] for a, b in zip(rows[r], rows[r + 1])) + off)
    return "\n".join(lines)
