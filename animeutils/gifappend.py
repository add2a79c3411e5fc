"""Growing an animated GIF one frame at a time, without re-encoding the frames already in it.

Rebuilding ``progress.gif`` from every sample grid at every epoch costs time that grows with the
epoch count (quadratic over a run). A GIF is a header, then one block per frame, then a trailer
byte (GIF89a, https://www.w3.org/Graphics/GIF/spec-gif89a.txt), so a frame can be added by
encoding just that frame with Pillow and splicing its image block in before the trailer, with its
palette as the frame's local colour table and a graphics control extension for its duration.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

from PIL import Image

TRAILER = b"\x3b"


def paletted(image: Image.Image) -> Image.Image:
    """``image`` in 256 colours by fast octree quantisation: ~4 ms for a 64-face grid where
    Pillow's default median cut takes ~100 ms, on the writer thread that shares the CPU with
    training. The GIF is a preview; the PNG grids keep every colour."""
    return image.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)


def _skip_sub_blocks(data: bytes, i: int) -> int:
    """Index just past a run of data sub-blocks (size byte + data, ended by a 0 size byte)."""
    while data[i]:
        i += data[i] + 1
    return i + 1


def _encode_frame(image: Image.Image) -> tuple[bytes, bytes, int]:
    """(colour table, image data from the LZW code size on, the image descriptor's flags for a
    local table of that size) of ``image`` encoded alone."""
    buf = io.BytesIO()
    paletted(image).save(buf, "GIF")
    data = buf.getvalue()
    packed = data[10]
    table_len = 3 * 2 ** ((packed & 7) + 1) if packed & 0x80 else 0
    table = data[13 : 13 + table_len]
    i = 13 + table_len
    while data[i] == 0x21:  # extensions before the image: skip them
        i = _skip_sub_blocks(data, i + 2)
    if data[i] != 0x2C:
        raise ValueError("Pillow wrote a GIF without an image block")
    flags = data[i + 9]
    if flags & 0x80:  # a local table already: use it
        table_bits = flags & 7
        table_len = 3 * 2 ** (table_bits + 1)
        table, start = data[i + 10 : i + 10 + table_len], i + 10 + table_len
    else:
        table_bits, start = packed & 7, i + 10
    end = _skip_sub_blocks(data, start + 1)  # LZW minimum code size, then the data
    return table, data[start:end], 0x80 | (flags & 0x40) | table_bits  # keep interlacing


def append_frame(path: str | Path, image: Image.Image, ms_per_frame: int = 400) -> Path:
    """Add ``image`` as the last frame of the looping GIF at ``path`` (created by the first call).
    Every frame must have the size of the first."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        paletted(image).save(path, "GIF", save_all=True, duration=ms_per_frame, loop=0)
        return path
    with open(path, "r+b") as fh:
        header = fh.read(10)
        width, height = struct.unpack("<HH", header[6:10])
        if image.size != (width, height):
            raise ValueError(f"frame is {image.size[0]}x{image.size[1]}, {path} is "
                             f"{width}x{height}")
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) != TRAILER:
            raise ValueError(f"{path} does not end like a complete GIF")
        table, image_data, flags = _encode_frame(image)
        control = b"\x21\xf9\x04\x00" + struct.pack("<H", max(ms_per_frame // 10, 1)) + b"\x00\x00"
        descriptor = b"\x2c" + struct.pack("<HHHH", 0, 0, width, height) + bytes([flags])
        fh.seek(-1, os.SEEK_END)
        fh.write(control + descriptor + table + image_data + TRAILER)
    return path
