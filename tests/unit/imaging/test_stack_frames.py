"""`main_stack_frames`: which instance and frame each slice of the main stack comes from."""

from __future__ import annotations

import numpy as np

from labelstack.imaging.decode import decode_frames
from labelstack.imaging.volume import main_stack_frames, main_stack_shape, volume_from_datasets
from tests.phantoms import ct_datasets, mixed_ct_datasets


def test_frames_follow_the_volume_order_whatever_the_input_order() -> None:
    datasets = ct_datasets(shape=(7, 12, 10))
    order = [3, 0, 6, 2, 5, 1, 4]
    shuffled = [datasets[i] for i in order]
    frames = main_stack_frames(shuffled)
    assert [order[source] for source, _ in frames] == list(range(7))
    volume = volume_from_datasets(shuffled)
    for z, (source, frame) in enumerate(frames):
        assert np.array_equal(volume.pixels[z], decode_frames(shuffled[source])[frame])


def test_split_off_instances_are_not_in_the_main_stack() -> None:
    datasets = mixed_ct_datasets()
    frames = main_stack_frames(datasets)
    assert len(frames) == main_stack_shape(datasets)[0] == 10
    assert {source for source, _ in frames} == set(range(3, 13))  # not the localizer or the small ones
