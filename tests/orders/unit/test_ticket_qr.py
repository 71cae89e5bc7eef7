"""The fast QR code (tickets/qr.py) is the qrcode package's own, pixel for pixel: same version,
same mask choice, same modules, same image."""

from __future__ import annotations

import uuid

import qrcode
import qrcode.constants
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL.Image import Image
from qrcode import util

from boxoffice.orders.tickets.codes import TicketSigner
from boxoffice.orders.tickets.qr import BORDER, BOX_SIZE, lost_point, qr_image


def _package_image(code: str) -> Image:
    """What pdf.py printed before: the package's layout and its PIL drawing."""
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=BOX_SIZE, border=BORDER
    )
    qr.add_data(code)
    qr.make(fit=True)
    image: Image = qr.make_image(fill_color="black", back_color="white").get_image()
    return image.convert("L")


def _assert_same(code: str) -> None:
    ours, theirs = qr_image(code), _package_image(code)
    assert (ours.mode, ours.size) == (theirs.mode, theirs.size)
    assert ours.tobytes() == theirs.tobytes()


def test_ticket_codes_print_as_before() -> None:
    signer = TicketSigner(Ed25519PrivateKey.generate())
    for _ in range(5):
        _assert_same(signer.sign(uuid.uuid4(), uuid.uuid4()))


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=1, max_size=400))
def test_any_text_prints_as_the_package_prints_it(text: str) -> None:
    # Every length gives another version (another module layout and cache entry).
    _assert_same(text)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=21, max_value=45).flatmap(
        lambda n: st.lists(st.lists(st.booleans(), min_size=n, max_size=n), min_size=n, max_size=n)
    )
)
def test_penalty_is_the_packages(modules: list[list[bool | None]]) -> None:
    assert lost_point(modules) == util.lost_point(modules)
