"""A ticket's QR code as printed, made faster than the qrcode package's own path, pixel for pixel
the same (tests/orders/unit/test_ticket_qr.py compares them).

Profiling a purchase showed the QR code as the largest part of rendering the tickets PDF: the
package lays out the data modules of the code once per mask pattern it tries (nine times), one
module at a time through a mask function, then draws the image one rectangle per dark module.
Here the module positions of a version and each mask's bits are worked out once and kept, a
layout is one XOR of two integers, a mask's penalty is counted with regular expressions and
integer bit tricks, and the image is the module matrix scaled up in one call."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
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


#: ISO 18004's penalty rules on lines of modules: runs of five or more alike, and the finder
#: pattern's 1:1:3:1:1 with four light modules on either side (overlapping matches count).
_RUN = re.compile(r"0{5,}|1{5,}")
_FINDER_LIKE = re.compile(r"(?=10111010000|00001011101)")


class _QRCode(qrcode.QRCode):  # type: ignore[type-arg]
    """qrcode.QRCode with its data layout done from cached positions and masks, and each mask's
    penalty counted on strings and integers instead of module by module."""

    def best_mask_pattern(self) -> int:
        """The package's choice: the first mask of least penalty."""
        penalties = []
        for pattern in range(8):
            self.makeImpl(True, pattern)
            penalties.append(lost_point(self.modules))
        return penalties.index(min(penalties))

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


def lost_point(modules: Sequence[Sequence[bool | None]]) -> int:
    """qrcode.util.lost_point's penalty of a laid-out code, the same number."""
    size = len(modules)
    rows = ["".join("1" if dark else "0" for dark in row) for row in modules]
    lines = rows + ["".join(column) for column in zip(*rows, strict=True)]
    runs = sum(len(run) - 2 for line in lines for run in _RUN.findall(line))
    finder_like = sum(len(_FINDER_LIKE.findall(line)) for line in lines)
    # 2x2 blocks alike: bit k of `alike` says columns k and k+1 agree down two rows and across.
    pairs = (1 << (size - 1)) - 1
    blocks = 0
    values = [int(row, 2) for row in rows]
    for upper, lower in itertools.pairwise(values):
        down = ~(upper ^ lower)
        blocks += (down & (down >> 1) & ~(upper ^ (upper >> 1)) & pairs).bit_count()
    percent = float(sum(row.count("1") for row in rows)) / (size**2)
    balance = int(abs(percent * 100 - 50) / 5) * 10
    return runs + 3 * blocks + 40 * finder_like + balance


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
