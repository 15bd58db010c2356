"""Fixtures of the Python package's tests: the build's cpo program, and the
demo stores imported from the bundled exchange files (datasets/sample) into
a temporary folder, as scripts/demo.sh imports them.

Environment: CPO_LIBRARY (the libcpo.so.0 under test, set by scripts/test.sh)
and CPO_BINARY (the cpo program of the same build; default build/cpo).
"""
import gzip
import os
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cpo_bin():
    path = pathlib.Path(os.environ.get("CPO_BINARY", ROOT / "build" / "cpo"))
    if not path.exists():
        pytest.fail(f"no cpo program at {path} (expected CPO_BINARY or a build in build/)")
    return str(path)


@pytest.fixture(scope="session")
def stores(tmp_path_factory, cpo_bin):
    """{"daily": path, "hourly": path}: the demo stores of the bundled data."""
    tmp = tmp_path_factory.mktemp("demo")
    csv = tmp / "csv"
    src = ROOT / "datasets" / "sample" / "csv"
    for gz in src.rglob("*.gz"):
        out = csv / gz.relative_to(src).with_suffix("")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(gzip.decompress(gz.read_bytes()))
    paths = {}
    for name in ("daily", "hourly"):
        store = tmp / f"crypto-{name}.h5"
        subprocess.run([cpo_bin, "data", "import", "--force", "--quiet", "-o", str(store), "-m",
                        str(ROOT / "datasets" / "sample" / f"{name}.ini"), "--root", str(csv)],
                       check=True)
        paths[name] = str(store)
    return paths


def config_on(stores, name, tmp_path):
    """configs/NAME.ini with its data key on the test's demo store (and its
    other relative paths made absolute), as a file in tmp_path (same name, so
    that outputs name it the same)."""
    text = (ROOT / "configs" / f"{name}.ini").read_text()
    store = stores["hourly" if "hourly" in re.search(r"^data\s*=.*$", text, re.M).group(0)
                   else "daily"]
    text = re.sub(r"^data\s*=.*$", f"data = {store}", text, count=1, flags=re.M)
    # Other paths relative to configs/ (brackets files, plugins) stay where they are.
    text = re.sub(r"^(\w+\s*=\s*)(\.\./\S+)", lambda m: m.group(1) + str(ROOT / "configs" / m.group(2)),
                  text, flags=re.M)
    path = tmp_path / f"{name}.ini"
    path.write_text(text)
    return path
