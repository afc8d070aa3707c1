"""Write output files safely: checked before the work, never onto an input, all or nothing.

Every file Corridor writes (reports, CSV tables, demo output) goes through :func:`write_text`
or :func:`write_tables`, and commands call :func:`check_file` / :func:`check_folder` before
they start a long solve, so a bad target fails in a second, not after the work. The rules:

* only regular files are written (a device, pipe, socket or folder at the path is refused);
  a symbolic link is followed and the file it names is replaced, the link kept;
* a file the same run reads (network, cost model, demand, scenario) is never a target;
* the write is atomic (temporary file in the same folder, then ``os.replace``), so a reader
  sees the old or the whole new file, and a failure leaves the old file as it was;
* an existing file keeps its permission bits; a new file gets the usual ``0666 & ~umask``.
"""

from __future__ import annotations

import math
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corridor.errors import OutputError

if TYPE_CHECKING:
    import pandas as pd


def check_file(path: str | Path, inputs: Iterable[str | Path] = ()) -> Path:
    """Check that ``path`` may be written as a regular file, before any work is done.

    Parameters
    ----------
    path
        The file to write (missing folders on the way are created when it is written).
    inputs
        Files the same run reads; none of them may be the target.

    Returns
    -------
    pathlib.Path
        The file that will be replaced (a symbolic link resolved).

    Raises
    ------
    OutputError
        An empty name, a folder or a device at the path, a file on the way where a folder is
        needed, an input of the run, or a folder that cannot be written.
    """
    text = str(path)
    if not text.strip() or text.endswith(("/", os.sep)):
        raise OutputError(f"output path {text!r} names no file")
    given = Path(text).expanduser()
    target = Path(os.path.realpath(given))
    if os.path.lexists(target):
        mode = os.stat(target).st_mode if target.exists() else 0
        if stat.S_ISDIR(mode):
            raise OutputError(f"{given} is a folder; give a file name for the output")
        if not stat.S_ISREG(mode):
            raise OutputError(f"{given} is not a regular file (a device, pipe, socket or "
                              f"broken link); Corridor writes regular files only")
        if not os.access(target, os.W_OK):
            raise OutputError(f"{given} is read-only; Corridor does not replace it")
    _check_not_input(given, target, inputs)
    _check_folder_writable(target.parent, given)
    return target


def check_folder(folder: str | Path, names: Iterable[str],
                 inputs: Iterable[str | Path] = ()) -> Path:
    """Check that the files ``names`` may be written into ``folder`` (see :func:`check_file`)."""
    text = str(folder)
    if not text.strip():
        raise OutputError("output folder name is empty")
    given = Path(text).expanduser()
    target = Path(os.path.realpath(given))
    if target.exists() and not target.is_dir():
        raise OutputError(f"{given} exists and is not a folder")
    inputs = list(inputs)
    for name in names:
        check_file(target / name, inputs)
    return target


def jsonable(value: Any) -> Any:
    """Plain JSON data: NaN and infinities become null, numpy scalars Python numbers, tuples
    lists, dictionary keys strings (the one cleaner every JSON output goes through)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    np = sys.modules.get("numpy")  # a value can only be NumPy's or pandas' once they are loaded
    if np is not None and isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    pd = sys.modules.get("pandas")
    if pd is not None and (value is pd.NA or value is pd.NaT):
        return None
    return value


def write_text(path: str | Path, text: str, inputs: Iterable[str | Path] = ()) -> Path:
    """Check ``path`` and write ``text`` to it atomically (UTF-8); returns the file written."""
    return write_bytes(path, text.encode("utf-8"), inputs)


def write_bytes(path: str | Path, data: bytes, inputs: Iterable[str | Path] = ()) -> Path:
    """Check ``path`` and write ``data`` to it atomically; returns the file written."""
    target = check_file(path, inputs)
    _make_folder(target.parent)
    _replace(target, data)
    return target


def write_tables(folder: str | Path, tables: Mapping[str, pd.DataFrame],
                 inputs: Iterable[str | Path] = ()) -> list[Path]:
    """Write each table as ``folder/<name>`` (CSV, no index), all checked before the first."""
    target = check_folder(folder, tables, inputs)
    _make_folder(target)
    written = []
    for name, table in tables.items():
        file = target / name
        _replace(file, table.to_csv(index=False).encode("utf-8"))
        written.append(file)
    return written


#: GIS formats :func:`write_layers` writes: name -> (file suffix, one file holds every layer)
GIS_FORMATS = {"gpkg": (".gpkg", True), "geoparquet": (".parquet", False),
               "geojson": (".geojson", False)}


def write_layers(path: str | Path, layers: Mapping[str, object], fmt: str,
                 inputs: Iterable[str | Path] = ()) -> list[Path]:
    """Write GeoDataFrames as a GIS dataset; returns the files written.

    ``gpkg`` writes one GeoPackage with a layer per frame (``path`` is the file);
    ``geoparquet`` and ``geojson`` write ``<layer>.parquet`` / ``<layer>.geojson`` into the
    folder ``path``. Every file is checked before the first is written and written
    atomically (a temporary file in the same folder, then renamed).
    """
    if fmt not in GIS_FORMATS:
        raise OutputError(f"unknown GIS format {fmt!r}; choose one of {', '.join(GIS_FORMATS)}")
    suffix, single = GIS_FORMATS[fmt]
    inputs = list(inputs)
    if single:
        targets = {name: check_file(path, inputs) for name in layers}
    else:
        folder = check_folder(path, [name + suffix for name in layers], inputs)
        targets = {name: folder / (name + suffix) for name in layers}
    written: list[Path] = []
    first = next(iter(targets.values()), None)
    if first is None:
        return written
    _make_folder(first.parent)
    handle, temporary = tempfile.mkstemp(dir=first.parent, prefix=".corridor-",
                                         suffix=suffix)
    os.close(handle)
    os.unlink(temporary)
    try:
        for name, frame in layers.items():
            target = targets[name]
            if fmt == "gpkg":
                frame.to_file(temporary, layer=name, driver="GPKG", engine="pyogrio")
                continue
            if fmt == "geoparquet":
                frame.to_parquet(temporary)
            else:
                with open(temporary, "w", encoding="utf-8") as out:
                    out.write(frame.to_json(drop_id=True))
            os.replace(temporary, target)
            written.append(target)
        if fmt == "gpkg":
            os.replace(temporary, first)
            written.append(first)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return written


def _check_not_input(given: Path, target: Path, inputs: Iterable[str | Path]) -> None:
    for item in inputs:
        source = Path(os.path.realpath(Path(item).expanduser()))
        same = source == target
        if not same and source.exists() and target.exists():
            same = os.path.samefile(source, target)
        if same:
            raise OutputError(f"{given} is an input of this run ({item}); write the output "
                              f"elsewhere")


def _check_folder_writable(folder: Path, given: Path) -> None:
    """The nearest existing folder on the way must be a folder we may create files in."""
    probe = folder
    while not os.path.lexists(probe):
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"cannot write {given}: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {given}: the folder {probe} is not writable")


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder {folder}: {exc.strerror or exc}") from None


def _replace(target: Path, data: bytes) -> None:
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
