"""Image uploads: validated with Pillow, re-encoded, thumbnailed; anything else is refused.

Re-encoding drops whatever rode along in the original file (metadata, trailing
bytes, polyglots). Files are named by content hash, so uploads are immutable.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from mercato.kit.errors import KitError, PayloadTooLarge, ValidationFailed

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
MAX_PIXELS = 40_000_000
MAX_SIDE = 2048
THUMB_SIDE = 480


@dataclass(frozen=True)
class StoredImage:
    path: str  # relative to the media directory
    thumb_path: str
    width: int
    height: int


def store_image(data: bytes, media_dir: Path, folder: str, *, max_bytes: int) -> StoredImage:
    """Validate ``data`` as an image and store a full-size WebP and a thumbnail under ``folder``."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"Images may be at most {max_bytes // (1024 * 1024)} MB.", code=KitError.IMAGE_TOO_LARGE)
    if not data:
        raise ValidationFailed("The file is empty.", code=KitError.INVALID_IMAGE)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                probe.verify()
            image: Image.Image = Image.open(io.BytesIO(data))
            if fmt not in ALLOWED_FORMATS:
                raise ValidationFailed(
                    "Use a JPEG, PNG, WebP or GIF image.", code=KitError.UNSUPPORTED_IMAGE_FORMAT,
                    details={"format": fmt}
                )
            if image.width * image.height > MAX_PIXELS:
                raise ValidationFailed("The image has too many pixels.", code=KitError.IMAGE_TOO_LARGE_PIXELS)
            image.load()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
                Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ValidationFailed("The file is not a readable image.", code=KitError.INVALID_IMAGE) from exc
    image = ImageOps.exif_transpose(image) or image
    image = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB")
    digest = hashlib.sha256(data).hexdigest()[:24]
    target = media_dir / folder
    target.mkdir(parents=True, exist_ok=True)
    full = image.copy()
    full.thumbnail((MAX_SIDE, MAX_SIDE))
    full.save(target / f"{digest}.webp", "WEBP", quality=86, method=2)
    thumb = image.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    thumb.save(target / f"{digest}-thumb.webp", "WEBP", quality=80, method=2)
    return StoredImage(
        path=f"{folder}/{digest}.webp",
        thumb_path=f"{folder}/{digest}-thumb.webp",
        width=full.width,
        height=full.height,
    )


def media_url(path: str | None) -> str | None:
    return f"/media/{path}" if path else None
