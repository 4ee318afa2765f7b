"""Photos of budget proposals: re-encoded by Pillow without EXIF/GPS, stored under a random
name, and the proposal that shows one (who may see it)."""

from __future__ import annotations

import io
import re
import uuid
import warnings
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.accounts import Invalid
from civic.participation.errors import Msg, field_error

PHOTO_MAX = 5 * 1024 * 1024
PHOTO_PIXELS_MAX = 40_000_000  # refuse decompression bombs before decoding them
PHOTO_SIDE = 2560  # longest side kept
PHOTO_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png)$")


def _photo_error(code: str, msgid: str, status: int = 400) -> Invalid:
    return field_error("photo", code, Msg(msgid), status=status)


def store_photo(data: bytes, folder: Path) -> str:
    """Re-encode an uploaded JPEG/PNG without metadata into ``folder``; the stored file name."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > PHOTO_MAX:
        raise _photo_error(
            "too_large", N_("Pole „Zdjęcie”: plik może mieć najwyżej 5 MB."), status=413
        )
    if not data:
        raise _photo_error("empty", N_("Pole „Zdjęcie”: plik jest pusty."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.format not in ("JPEG", "PNG"):
                raise _photo_error(
                    "wrong_type", N_("Pole „Zdjęcie”: dozwolone są tylko pliki JPEG i PNG.")
                )
            if img.width * img.height > PHOTO_PIXELS_MAX:
                raise _photo_error(
                    "too_many_pixels", N_("Pole „Zdjęcie”: obraz ma za dużo pikseli.")
                )
            fmt = img.format
            img.load()
            img = ImageOps.exif_transpose(img)  # keep the picture upright, then drop EXIF
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise _photo_error(
            "unreadable", N_("Pole „Zdjęcie”: plik nie jest poprawnym obrazem JPEG ani PNG.")
        ) from None
    img.thumbnail((PHOTO_SIDE, PHOTO_SIDE))
    if fmt == "PNG":
        clean = img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") else "RGB")
        ext, kwargs = "png", {"optimize": True}
    else:
        clean = img.convert("RGB")
        ext, kwargs = "jpg", {"quality": 85, "optimize": True}
    clean.info = {}  # no EXIF, GPS, XMP, ICC or text chunks travel on
    out = io.BytesIO()
    clean.save(out, "PNG" if ext == "png" else "JPEG", **kwargs)
    name = f"{uuid.uuid4().hex}.{ext}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(out.getvalue())
    return name


def drop_photo(folder: Path, name: str | None) -> None:
    if name and PHOTO_NAME.match(name):
        (folder / name).unlink(missing_ok=True)


def photo_owner(conn: Connection, name: str) -> Any:
    """(author_id, status, hidden_at) of the proposal showing this photo, or None."""
    if not PHOTO_NAME.match(name):
        return None
    return conn.execute(
        text("SELECT id, author_id, status, hidden_at FROM budget_proposals WHERE photo = :p"),
        {"p": name},
    ).first()
