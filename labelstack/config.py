"""Settings from `LABELSTACK_*` environment variables or a `.env` file.

The data directory is checked (and created) here so that a bad setting fails
once, at start, with one clear message instead of deep inside a request.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(RuntimeError):
    """A setting is unusable; the message says which one and why."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LABELSTACK_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("./labelstack-data"))
    database_url: str | None = None
    secret_key: str | None = None
    dicomweb_url: str | None = None
    dicomweb_username: str | None = None
    dicomweb_password: str | None = None
    volume_cache_mb: int = 2048
    volume_disk_cache_mb: int = Field(default=20480, ge=0)  # .npy copies in data_dir/cache
    frame_cache_mb: int = Field(default=64, ge=0)  # encoded frames (~30 KB each), 0: none
    # One upload (all its files together, API or Images page) may carry at most this much.
    max_upload_mb: int = Field(default=2048, ge=1)
    # One file inside an uploaded or imported zip may inflate to at most this much, and (past
    # 16 MB) to at most this many times its compressed size: zip bombs are refused.
    max_zip_member_mb: int = Field(default=1024, ge=1)
    max_zip_ratio: float = Field(default=100.0, gt=1)
    # 3D views (each a VTK process of its own): at most this many open at once, each stopped
    # this long after its last connection closed.
    max_3d_views: int = Field(default=4, ge=0)
    view3d_idle_seconds: float = Field(default=60.0, gt=0)
    # Test hook: /view3d-lag reports the event loop's worst lag (never on in production).
    view3d_lag_probe: bool = False
    # Reverse proxies (comma-separated IPs or CIDRs) whose X-Forwarded-For names the client;
    # empty: the header is ignored, so a caller cannot pick the address it is throttled by.
    trusted_proxies: str = ""

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        for part in _split(value):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address or network (e.g. 10.0.0.0/8)") \
                    from None
        return value

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(part, strict=False) for part in _split(self.trusted_proxies))

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'labelstack.db').resolve()}"

    def prepare_data_dir(self) -> Path:
        """Create the data dir if needed and prove it is writable."""
        path = self.data_dir.expanduser()
        try:
            path.mkdir(parents=True, exist_ok=True)
            probe = path / ".write-test"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise SettingsError(
                f"LABELSTACK_DATA_DIR={path} is not a writable directory: {exc.strerror or exc}"
            ) from exc
        self.data_dir = path.resolve()
        return self.data_dir

    def resolved_secret_key(self) -> str:
        """The configured key, else one generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        key_file = self.data_dir / "secret.key"
        try:
            fd = os.open(key_file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return key_file.read_text().strip()
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48))
        return key_file.read_text().strip()


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def load_settings(**overrides: object) -> Settings:
    values: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**values)
