"""Read ticket codes out of pictures: a photo or screenshot of a QR code, or a tickets PDF."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import zxingcpp
from PIL import Image, UnidentifiedImageError


class UnreadableImage(Exception):
    """The file is not a picture or PDF we can open."""


def codes_in_image(data: bytes) -> list[str]:
    """Texts of every QR code in an image (PNG, JPEG, ...), in reading order."""
    try:
        picture = Image.open(io.BytesIO(data))
        picture.load()
    except (UnidentifiedImageError, OSError) as error:
        raise UnreadableImage(f"not an image: {error}") from None
    return codes_in_picture(picture)


def codes_in_picture(picture: Image.Image) -> list[str]:
    """Texts of the QR codes in an opened picture. Only QR codes: any other format could read
    a phantom barcode out of a QR code's modules."""
    # Greyscale: zxing reads luminance, and it copes with any mode Pillow converts from.
    only_qr = zxingcpp.BarcodeFormats((zxingcpp.BarcodeFormat.QRCode,))
    found = zxingcpp.read_barcodes(picture.convert("L"), formats=only_qr)
    return [barcode.text for barcode in found]


def codes_in_pdf(data: bytes) -> list[str]:
    """Texts of the QR codes in a PDF's embedded images, page by page (our tickets PDF embeds
    each QR as an image, so no rendering is needed)."""
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        codes: list[str] = []
        for page in reader.pages:
            for image in page.images:
                codes += codes_in_image(image.data)
    except pypdf.errors.PyPdfError as error:
        raise UnreadableImage(f"not a readable PDF: {error}") from None
    return codes


def codes_in_file(path: Path) -> list[str]:
    """Codes in a picture or PDF file, told apart by content, not by name."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UnreadableImage(f"cannot read {path}: {error.strerror}") from None
    if data.startswith(b"%PDF-"):
        return codes_in_pdf(data)
    return codes_in_image(data)
