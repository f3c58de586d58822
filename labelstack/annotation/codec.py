"""Mask storage: boolean volumes packed to bits and compressed with zstandard.

Masks are mostly empty, so bit-packing (8x) followed by zstd level 3 keeps a
300x512x512 volume around 100 KB and encodes it in tens of milliseconds (see
ARCHITECTURE.md, measurements). The shape is stored beside the bytes, and is
part of the content hash, so equal bits in a different geometry never compare
equal. `.npy` helpers are the exchange format of the REST API.
"""

from __future__ import annotations

import hashlib
import io
import math

import numpy as np
import zstandard

ZSTD_LEVEL = 3
# np.load reads the header first; refuse absurd volumes before allocating them.
MAX_VOXELS = 2_000_000_000


class MaskFormatError(ValueError):
    """Bytes or arrays that are not a valid mask; the message says what is wrong."""


def encode_mask(mask: np.ndarray) -> bytes:
    """Pack a boolean volume to bits and compress it."""
    return PackedMask.of(mask).encoded()


class PackedMask:
    """A mask packed to bits once, for both its content hash and its stored bytes (packing a
    300×512² mask costs milliseconds: a save should not pay it twice)."""

    def __init__(self, shape: tuple[int, ...], bits: bytes) -> None:
        self.shape, self.bits = shape, bits

    @classmethod
    def of(cls, mask: np.ndarray) -> PackedMask:
        bits = _as_bool(mask)
        return cls(tuple(bits.shape), np.packbits(bits, axis=None).tobytes())

    def encoded(self) -> bytes:
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(self.bits)

    def content_hash(self) -> str:
        digest = hashlib.sha256(",".join(str(n) for n in self.shape).encode() + b"|")
        digest.update(self.bits)
        return digest.hexdigest()


def decode_mask(data: bytes, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of `encode_mask`; `shape` is the one stored with the bytes."""
    count = math.prod(shape)
    packed_size = (count + 7) // 8
    try:
        raw = zstandard.ZstdDecompressor().decompress(data, max_output_size=packed_size)
    except zstandard.ZstdError as exc:
        raise MaskFormatError(f"mask bytes are not valid zstd data: {exc}") from None
    if len(raw) != packed_size:
        raise MaskFormatError(f"mask bytes hold {len(raw)} packed bytes, shape {shape} needs "
                              f"{packed_size}")
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8), count=count)
    return bits.view(bool).reshape(shape)  # a fresh array: viewing it as bool needs no copy


def content_hash(mask: np.ndarray) -> str:
    """sha256 over the shape and the packed bits: equal content, equal hash."""
    return PackedMask.of(mask).content_hash()


def shape_to_text(shape: tuple[int, ...]) -> str:
    return ",".join(str(n) for n in shape)


def shape_from_text(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in text.split(",")) if text else ()


def mask_from_npy(data: bytes) -> np.ndarray:
    """Read an uploaded `.npy`: bool, or integers holding only 0 and 1; no pickles."""
    try:
        array = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise MaskFormatError(f"not a readable .npy array: {exc}") from None
    if not isinstance(array, np.ndarray):
        raise MaskFormatError("expected a single .npy array, not an .npz archive")
    if array.size > MAX_VOXELS:
        raise MaskFormatError(f"mask has {array.size} voxels, more than {MAX_VOXELS}")
    if array.dtype == np.bool_:
        return array
    if array.dtype.kind in "iu":
        if array.size and (array.min() < 0 or array.max() > 1):
            raise MaskFormatError("integer masks may hold only 0 and 1")
        return array.astype(bool)
    raise MaskFormatError(f"mask dtype must be bool or uint8 (0/1), got {array.dtype}")


def mask_to_npy(mask: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, _as_bool(mask), allow_pickle=False)
    return buffer.getvalue()


def _as_bool(mask: np.ndarray) -> np.ndarray:
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
        raise MaskFormatError("a mask must be a numpy array of dtype bool")
    return np.ascontiguousarray(mask)
