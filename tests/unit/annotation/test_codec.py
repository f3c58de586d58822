"""Mask codec: lossless round trips, stable hashes, clear errors for bad input."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from labelstack.annotation.codec import (
    MaskFormatError,
    content_hash,
    decode_mask,
    encode_mask,
    mask_from_npy,
    mask_to_npy,
    shape_from_text,
    shape_to_text,
)

shapes = st.tuples(st.integers(0, 6), st.integers(0, 9), st.integers(0, 11))
masks = shapes.flatmap(lambda shape: arrays(np.bool_, shape))


@settings(max_examples=200, deadline=None)
@given(masks)
def test_round_trip_is_lossless(mask: np.ndarray) -> None:
    decoded = decode_mask(encode_mask(mask), mask.shape)
    assert decoded.dtype == np.bool_
    assert decoded.shape == mask.shape
    assert np.array_equal(decoded, mask)
    assert content_hash(decoded) == content_hash(mask)


@settings(max_examples=100, deadline=None)
@given(masks)
def test_npy_round_trip(mask: np.ndarray) -> None:
    assert np.array_equal(mask_from_npy(mask_to_npy(mask)), mask)
    assert shape_from_text(shape_to_text(mask.shape)) == mask.shape


def test_hash_depends_on_shape_and_content() -> None:
    flat = np.zeros((1, 2, 8), dtype=bool)
    assert content_hash(flat) != content_hash(flat.reshape(2, 1, 8))
    changed = flat.copy()
    changed[0, 1, 3] = True
    assert content_hash(flat) != content_hash(changed)
    assert content_hash(flat) == content_hash(np.zeros((1, 2, 8), dtype=bool))


def test_large_sparse_mask_compresses_well() -> None:
    mask = np.zeros((64, 256, 256), dtype=bool)
    mask[20:30, 100:140, 90:150] = True
    data = encode_mask(mask)
    assert len(data) < 5_000
    assert np.array_equal(decode_mask(data, mask.shape), mask)


def test_non_contiguous_input_is_encoded_by_value() -> None:
    mask = np.random.default_rng(1).random((4, 6, 10)) > 0.5
    view = mask[:, ::2, ::-1]
    assert np.array_equal(decode_mask(encode_mask(view), view.shape), view)


@pytest.mark.parametrize("bad", [np.zeros((2, 2, 2), dtype=np.uint8), [[True]], np.zeros(3)])
def test_encode_refuses_non_bool(bad: object) -> None:
    with pytest.raises(MaskFormatError, match="dtype bool"):
        encode_mask(bad)  # type: ignore[arg-type]


def test_decode_refuses_wrong_shape_or_garbage() -> None:
    data = encode_mask(np.ones((2, 3, 4), dtype=bool))
    with pytest.raises(MaskFormatError):
        decode_mask(data, (2, 3, 5))
    with pytest.raises(MaskFormatError, match="zstd"):
        decode_mask(b"not zstd", (2, 3, 4))


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize("data,message", [
    pytest.param(b"hello", "not a readable .npy", id="garbage"),
    pytest.param(_npy(np.zeros((2, 2), dtype=np.float32)), "dtype must be bool", id="float"),
    pytest.param(_npy(np.full((2, 2), 2, dtype=np.uint8)), "only 0 and 1", id="uint8-values"),
    pytest.param(_npy(np.array([{"a": 1}], dtype=object)), "not a readable .npy", id="pickle"),
])
def test_mask_from_npy_rejects_bad_input(data: bytes, message: str) -> None:
    with pytest.raises(MaskFormatError, match=message):
        mask_from_npy(data)


def test_mask_from_npy_accepts_uint8_zero_one() -> None:
    array = np.array([[[0, 1], [1, 0]]], dtype=np.uint8)
    assert mask_from_npy(_npy(array)).tolist() == [[[False, True], [True, False]]]
