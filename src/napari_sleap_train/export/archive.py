"""Zip a job package atomically, and unzip one keeping the scripts executable."""

from __future__ import annotations

import os
import shutil
import stat
import time
import uuid
import zipfile
from pathlib import Path

from napari_sleap_train.export.errors import ExportJobError, ExportWriteError


def zip_folder(folder: Path, names: list[str], out: Path) -> None:
    """Zip ``names`` from ``folder`` into ``out`` (atomically), keeping the executable bits."""
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    stamp = time.localtime()[:6]
    try:
        with zipfile.ZipFile(tmp, "w") as zf:
            for name in names:
                src = folder / name
                info = zipfile.ZipInfo(name, date_time=stamp)
                mode = stat.S_IMODE(src.stat().st_mode)
                info.external_attr = (stat.S_IFREG | mode) << 16
                # .pkg.slp frames are PNG already: deflating them again costs time for nothing
                info.compress_type = zipfile.ZIP_STORED if name.endswith(".slp") else zipfile.ZIP_DEFLATED
                with src.open("rb") as fin, zf.open(info, "w", force_zip64=True) as fout:
                    shutil.copyfileobj(fin, fout, 1 << 20)
        os.replace(tmp, out)
    except OSError as exc:
        raise ExportWriteError(f"Writing {out} failed: {exc.strerror or exc}; nothing was written.") from exc
    finally:
        if tmp.exists():
            tmp.unlink()


def extract_job(zip_path: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Unzip a job package into ``dest`` (created if missing), keeping executable bits.

    Python's :mod:`zipfile` drops file modes; this restores them so the
    scripts run as they do after ``unzip``. Entries that would land outside
    ``dest`` are refused.

    Raises
    ------
    ExportJobError
        The zip cannot be read or holds unsafe paths.
    """
    dest = Path(dest).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(zip_path) as zf:
            for info in zf.infolist():
                target = (dest / info.filename).resolve()
                if dest != target and dest not in target.parents:
                    raise ExportJobError(f"{zip_path} holds an unsafe path: {info.filename}")
                zf.extract(info, dest)
                mode = (info.external_attr >> 16) & 0o777
                if mode and not info.is_dir():
                    target.chmod(mode)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ExportJobError(f"{zip_path} cannot be unzipped: {exc}") from exc
    return dest
