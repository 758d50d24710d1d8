"""A fake camera for Chromium: a y4m video of a QR code, as a phone held over a printed coupon
would film it (Chromium plays it with --use-file-for-fake-video-capture)."""

from __future__ import annotations

import io
from pathlib import Path

import segno
from PIL import Image

WIDTH, HEIGHT = 640, 480


def qr_video(text: str, path: Path, frames: int = 10) -> Path:
    """A few seconds' worth of frames of `text` as a QR code on white paper, 4:2:0 grey."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=8, border=4)
    code = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
    side = min(HEIGHT - 40, code.width)
    code = code.resize((side, side), Image.NEAREST)
    frame = Image.new("L", (WIDTH, HEIGHT), 235)
    frame.paste(code, ((WIDTH - side) // 2, (HEIGHT - side) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * (WIDTH // 2 * HEIGHT // 2)
    with path.open("wb") as video:
        video.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            video.write(b"FRAME\n" + luma + chroma + chroma)
    return path
