"""Copy the browser assets Corridor needs out of ``node_modules`` into the package.

Run after ``npm ci`` (which installs the exact versions of ``package-lock.json``)::

    npm ci --no-audit --no-fund
    .venv/bin/python scripts/web_assets.py

Writes

* ``src/corridor/web/vendor/`` (committed, so that a wheel or ``pip install .`` serves the map
  and ``/docs`` with no npm step): Leaflet's JS, CSS and marker images, Swagger UI's bundle and
  CSS (for the offline ``/docs`` page), with their licences and ``VERSIONS.txt``;
* ``src/corridor/web/basemap/`` (committed): world-atlas ``countries-50m.json`` (Natural Earth
  country outlines, TopoJSON) with its licence and a ``PROVENANCE.md`` naming package and version,
  so that ``corridor report`` draws the basemap after a plain ``pip install`` too.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
WEB = ROOT / "src" / "corridor" / "web"
VENDOR = WEB / "vendor"
BASEMAP = WEB / "basemap"

#: package -> [(file inside the package, destination relative to the target folder)]
VENDOR_FILES = {
    "leaflet": [("dist/leaflet.js", "leaflet/leaflet.js"),
                ("dist/leaflet.css", "leaflet/leaflet.css"),
                ("dist/images/layers.png", "leaflet/images/layers.png"),
                ("dist/images/layers-2x.png", "leaflet/images/layers-2x.png"),
                ("dist/images/marker-icon.png", "leaflet/images/marker-icon.png"),
                ("dist/images/marker-icon-2x.png", "leaflet/images/marker-icon-2x.png"),
                ("dist/images/marker-shadow.png", "leaflet/images/marker-shadow.png"),
                ("LICENSE", "leaflet/LICENSE")],
    "swagger-ui-dist": [("swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js"),
                        ("swagger-ui.css", "swagger-ui/swagger-ui.css"),
                        ("LICENSE", "swagger-ui/LICENSE"),
                        ("NOTICE", "swagger-ui/NOTICE")],
}
BASEMAP_FILES = {"world-atlas": [("countries-50m.json", "countries-50m.json"),
                                 ("LICENSE", "LICENSE-world-atlas")]}


def _version(package: str) -> str:
    return json.loads((NODE_MODULES / package / "package.json").read_text())["version"]


def copy(files: dict[str, list[tuple[str, str]]], target: Path) -> list[str]:
    """Copy ``files`` from node_modules into ``target``; returns ``package@version`` lines."""
    done = []
    for package, pairs in files.items():
        base = NODE_MODULES / package
        if not base.is_dir():
            raise SystemExit(f"{base} is missing: run `npm ci` first")
        for source, dest in pairs:
            out = target / dest
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(base / source, out)
        done.append(f"{package}@{_version(package)}")
    return done


def main() -> int:
    vendored = copy(VENDOR_FILES, VENDOR)
    (VENDOR / "VERSIONS.txt").write_text("\n".join(vendored) + "\n")
    basemap = copy(BASEMAP_FILES, BASEMAP)
    (BASEMAP / "PROVENANCE.md").write_text(
        "# Basemap provenance\n\n"
        f"`countries-50m.json` is copied unchanged from the npm package `{basemap[0]}` "
        "(https://github.com/topojson/world-atlas) by `scripts/web_assets.py`.\n"
        "It is Natural Earth's 1:50m Admin 0 countries (https://www.naturalearthdata.com/), "
        "public domain, converted to TopoJSON by Mike Bostock; the package's ISC licence is in "
        "`LICENSE-world-atlas`.\n"
        "Country outlines are for orientation only and imply no position on any border.\n")
    print(f"vendored {', '.join(vendored)} into {VENDOR.relative_to(ROOT)}/")
    print(f"basemap from {', '.join(basemap)} into {BASEMAP.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
