"""Image sources behind one interface (`base.ImageStore`): local files or a DICOMweb server."""

from __future__ import annotations

from labelstack.config import Settings
from labelstack.stores.base import ImageStore, IndexEntry, SeriesSummary, StoreError, check_uid
from labelstack.stores.dicomweb import DicomWebStore
from labelstack.stores.local import LocalStore

__all__ = ["ImageStore", "IndexEntry", "SeriesSummary", "StoreError", "DicomWebStore",
           "LocalStore", "check_uid", "store_for"]


def store_for(settings: Settings, name: str | None = None) -> ImageStore:
    """The store called `name`, else the default one: DICOMweb when a URL is set."""
    name = name or ("dicomweb" if settings.dicomweb_url else "local")
    if name == "local":
        return LocalStore(settings.data_dir / "dicom")
    if name == "dicomweb":
        if not settings.dicomweb_url:
            raise StoreError("this series lives on a DICOMweb server, but "
                             "LABELSTACK_DICOMWEB_URL is not set")
        return DicomWebStore(settings.dicomweb_url, username=settings.dicomweb_username,
                             password=settings.dicomweb_password)
    raise StoreError(f"unknown image store {name!r}")
