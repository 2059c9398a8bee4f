"""A minimal asyncio HTTP/1.1 GET client (stdlib only) for polling phyphox on the LAN."""

from __future__ import annotations

import asyncio

__all__ = ["HttpError", "http_get"]

#: Largest reply accepted (a full phyphox buffer of an hour at 500 Hz stays well below).
MAX_REPLY_BYTES = 256 * 1024 * 1024


class HttpError(OSError):
    """The server could not be reached or answered something that is not HTTP 200."""


async def http_get(host: str, port: int, target: str, *, timeout_s: float) -> bytes:
    """GET ``target`` (path + query) and return the body of a 200 reply."""
    try:
        return await asyncio.wait_for(_get(host, port, target), timeout_s)
    except TimeoutError:
        raise HttpError(f"no reply from {host}:{port} within {timeout_s:g} s") from None


async def _get(host: str, port: int, target: str) -> bytes:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as exc:
        raise HttpError(f"cannot connect to {host}:{port} ({exc.strerror or exc})") from exc
    try:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
                     "Accept: application/json\r\n\r\n".encode("latin-1"))
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise HttpError(f"{host}:{port} did not answer HTTP ({lines[0][:40]!r})")
        status = int(parts[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
                if size == 0:
                    break
                body += await reader.readexactly(size)
                await reader.readexactly(2)
                if len(body) > MAX_REPLY_BYTES:
                    raise HttpError("reply too large")
            data = bytes(body)
        elif "content-length" in headers:
            n = int(headers["content-length"])
            if n > MAX_REPLY_BYTES:
                raise HttpError("reply too large")
            data = await reader.readexactly(n)
        else:
            data = await reader.read(MAX_REPLY_BYTES)
        if status != 200:
            raise HttpError(f"{host}:{port}{target.split('?')[0]} answered HTTP {status}")
        return data
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, ConnectionError) as exc:
        raise HttpError(f"broken reply from {host}:{port} ({exc})") from exc
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass
