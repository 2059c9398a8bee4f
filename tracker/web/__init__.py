"""The live session in a browser: ``tracker record --web [HOST:]PORT``.

Needs the ``web`` extra (Starlette, uvicorn; qrcode for the phone's QR code).
:class:`WebView` renders the same :class:`~tracker.live.state.LiveState` frames as the
terminal view and serves them, with its own page, to browsers that carry its token.
"""

from .frame import frame_of, pain_question
from .qr import terminal_qr
from .server import DEFAULT_HOST, WebView, lan_address, parse_bind

__all__ = ["DEFAULT_HOST", "WebView", "frame_of", "lan_address", "pain_question", "parse_bind", "terminal_qr"]
