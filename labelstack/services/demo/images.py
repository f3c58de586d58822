"""Sample images for the demo: a generated CT phantom plus real files shipped with pydicom
and pydicom-data (MR, a computed radiograph, an ultrasound cine), imported like any upload."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydicom.data import get_testdata_file
from sqlmodel import Session

from labelstack.config import Settings
from labelstack.imaging.phantom import derived_uid, write_ct_series
from labelstack.services.images.importing import ImportReport, import_dicom
from labelstack.services.images.runtime import configure
from labelstack.services.images.sources import sources_from_paths
from labelstack.stores import store_for

DEMO_FILES = ("MR_small.dcm", "RG3_J2KR.dcm", "examples_ybr_color.dcm")
DEMO_CT_SHAPE = (48, 256, 256)
DEMO_CT_SPACING = (2.5, 0.8, 0.8)


def seed_demo_images(session: Session, settings: Settings) -> ImportReport:
    """Import the demo series into the configured store; running it twice changes nothing."""
    configure(settings)
    paths = [Path(p) for name in DEMO_FILES if (p := get_testdata_file(name))]
    with tempfile.TemporaryDirectory() as tmp:
        paths += _write_demo_ct(Path(tmp))
        return import_dicom(session, actor=None, sources=sources_from_paths(paths),
                            store=store_for(settings))


def _write_demo_ct(directory: Path) -> list[Path]:
    """The clean phantom (no noise), centred in x and y, with the same UIDs on every run."""
    (_, rows, cols), (_, dy, dx) = DEMO_CT_SHAPE, DEMO_CT_SPACING
    return write_ct_series(directory, shape=DEMO_CT_SHAPE, spacing=DEMO_CT_SPACING,
                           origin=(-cols * dx / 2, -rows * dy / 2, 0.0), patient_id="DEMO-CT-01",
                           series_uid=derived_uid("labelstack-demo-ct"), seed=None)
