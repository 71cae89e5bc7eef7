"""A ticket's QR code as printed, made faster than the qrcode package's own path, pixel for pixel
the same (tests/orders/unit/test_ticket_qr.py compares them).

Profiling a purchase showed the QR code as the largest part of rendering the tickets PDF: the
package lays out the data modules of the code once per mask pattern it tries (nine times), one
module at a time through a mask function, then draws the image one rectangle per dark module.
Here the module positions of a version and each mask's bits are worked out once and kept, a
layout is one XOR of two integers, and the image is the module matrix scaled up in one call."""

from __future__ import annotations

from typing import Any

import qrcode
import qrcode.constants
from PIL import Image as PilImage
from PIL.Image import Image
from qrcode import util

#: Module size in pixels and quiet zone in modules, as the printed tickets always had them.
BOX_SIZE = 10
BORDER = 4

#: version -> the positions of the data modules, in the order the data fills them.
_positions: dict[int, list[tuple[int, int]]] = {}
#: (version, mask pattern) -> which of those modules the mask flips, as one integer.
_masks: dict[tuple[int, int], int] = {}


class _QRCode(qrcode.QRCode):  # type: ignore[type-arg]
    """qrcode.QRCode with its data layout done from cached positions and masks."""

    def map_data(self, data: Any, mask_pattern: int) -> None:
        positions = _data_positions(self.version, self.modules)
        bits = len(positions)
        # The data's bits first, then zeros (the remainder bits), each flipped where the mask
        # says so: what the package's module-by-module loop writes.
        value = int.from_bytes(bytes(data), "big") << (bits - 8 * len(data))
        layout = format(value ^ _mask(self.version, mask_pattern, positions), f"0{bits}b")
        modules = self.modules
        for (row, col), bit in zip(positions, layout, strict=True):
            modules[row][col] = bit == "1"


def _data_positions(version: int, modules: list[list[bool | None]]) -> list[tuple[int, int]]:
    """The modules still empty once the fixed patterns are set, in the package's zigzag order
    (two columns at a time from the right, up then down, skipping the timing column)."""
    found = _positions.get(version)
    if found is not None:
        return found
    size = len(modules)
    found = []
    row, step = size - 1, -1
    for right in range(size - 1, 0, -2):
        col = right - 1 if right <= 6 else right
        while True:
            found += [(row, c) for c in (col, col - 1) if modules[row][c] is None]
            row += step
            if row < 0 or row >= size:
                row -= step
                step = -step
                break
    _positions[version] = found
    return found


def _mask(version: int, pattern: int, positions: list[tuple[int, int]]) -> int:
    found = _masks.get((version, pattern))
    if found is None:
        flips = util.mask_func(pattern)
        found = int("".join("1" if flips(r, c) else "0" for r, c in positions), 2)
        _masks[(version, pattern)] = found
    return found


def qr_matrix(code: str) -> list[list[bool]]:
    """The code's modules, quiet zone included; error correction M survives a creased page."""
    qr = _QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=BORDER)
    qr.add_data(code)
    qr.make(fit=True)
    matrix: list[list[bool]] = qr.get_matrix()
    return matrix


def qr_image(code: str) -> Image:
    """The QR code of a ticket code, as printed: black modules of BOX_SIZE pixels on white, in
    greyscale."""
    matrix = qr_matrix(code)
    size = len(matrix)
    pixels = bytes(0 if dark else 255 for row in matrix for dark in row)
    small = PilImage.frombytes("L", (size, size), pixels)
    return small.resize((size * BOX_SIZE, size * BOX_SIZE), PilImage.Resampling.NEAREST)
