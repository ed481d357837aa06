"""The installed package, away from the source tree: build the wheel, install it into a
fresh venv, and from an empty working directory run `couchdb` (whose Node packages
install on first start), `setup`, `serve` and one `PUT /v2/api_auth`.

For speed the venv gets the pinned dependencies from the project venv (a .pth line)
and the wheel itself with `--no-deps`; the test checks those pins are what is installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
import zipfile
from importlib.metadata import distribution
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from ..conftest import free_port, wait_for_up
from ..eventually import eventually_blocking

REPO = Path(__file__).resolve().parents[2]
BUILD_ARTEFACTS = ("build", "dist", "*.egg-info", ".venv", "node_modules", ".git", "var", "__pycache__", ".*_cache")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    # Built from a copy without the checkout's artefacts: setuptools reuses ./build/lib, so a
    # build/ left by an older layout would put stale top-level packages into the wheel.
    source = work / "src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*BUILD_ARTEFACTS))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(work / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    wheel = next((work / "dist").glob("kazoo_crossbar-*.whl"))
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=600)
    purelib = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout.strip()
    Path(purelib, "_project_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # --force-reinstall: through the .pth, pip sees the project venv's kazoo_crossbar (same version) and
    # would skip the wheel; run from another checkout (a worktree) nothing would then be importable
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--force-reinstall",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return wheel


DATA_FOLDERS = ("couchdb_views", "system_config", "couchdb_server")


def tracked(folder: str) -> set[str]:
    """The repository's files under folder (git ls-files; node_modules and caches are not tracked)."""
    out = subprocess.run(
        ["git", "ls-files", folder], cwd=REPO, check=True, capture_output=True, text=True, timeout=60
    ).stdout
    return {line for line in out.splitlines() if line and not line.endswith(".pyc")}


def test_wheel_ships_the_data_folders_inside_the_package_without_node_modules(installed):
    names = set(zipfile.ZipFile(installed).namelist())
    # nothing but the package (and its metadata) at the top of site-packages
    top = {n.split("/")[0] for n in names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"kazoo_crossbar"}, top
    for wanted in (
        "kazoo_crossbar/couchdb_views/account/resources.json",
        "kazoo_crossbar/couchdb_views/accounts/accounts.json",
        "kazoo_crossbar/system_config/crossbar.resources.json",
        "kazoo_crossbar/couchdb_server/server.js",
        "kazoo_crossbar/couchdb_server/package-lock.json",
        "kazoo_crossbar/schemas/resources.json",
        "kazoo_crossbar/ui/index.html",
        "kazoo_crossbar/ui/main.js",
        "kazoo_crossbar/ui/console.css",
    ):
        assert wanted in names
    # every tracked file of the data folders and of the package is in the wheel, where the readers look
    for folder in DATA_FOLDERS:
        assert {f"kazoo_crossbar/{f}" for f in tracked(folder)} <= names, folder
    assert tracked("kazoo_crossbar") <= names
    assert not [n for n in names if "node_modules" in n]


def test_pinned_dependencies_are_the_ones_installed():
    for req in map(Requirement, distribution("kazoo_crossbar").requires or []):
        if req.marker is None:
            assert distribution(req.name).version in req.specifier, req


def test_couchdb_setup_serve_api_auth_from_an_empty_directory(installed, tmp_path):
    venv_bin = installed.parent.parent / "venv" / "bin"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    couch_port, api_port = free_port(), free_port()
    couch_url = f"http://127.0.0.1:{couch_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAZOO_", "PYTHON"))}
    env.update(KAZOO_CROSSBAR_NODE_DIR=str(tmp_path / "node"), KAZOO_COUCHDB_URL=couch_url)
    where = subprocess.run(
        [
            str(venv_bin / "python"),
            "-c",
            "import importlib.util, kazoo_crossbar, kazoo_crossbar.couchdb_views as v; print(kazoo_crossbar.__file__, v.__file__); "
            "print([n for n in ('couchdb_views', 'system_config', 'couchdb_server') if importlib.util.find_spec(n)])",
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    files, top_level = where.splitlines()
    assert str(REPO) not in files and files.count(str(installed.parent.parent / "venv")) == 2
    assert top_level == "[]"  # no top-level data packages to collide with other projects'

    couch_log = open(tmp_path / "couch.log", "wb")
    couch = subprocess.Popen(
        [str(venv_bin / "kazoo-crossbar"), "couchdb", "--port", str(couch_port), "--data-dir", "data"],
        cwd=cwd,
        env=env,
        stdout=couch_log,
        stderr=couch_log,
    )
    serve = None
    try:
        wait_for_up(couch_url, couch, timeout_s=600)  # first start: npm ci into the node dir
        assert "installing the embedded CouchDB" in (tmp_path / "couch.log").read_text()
        assert (tmp_path / "node" / "node_modules").is_dir() and (cwd / "data").is_dir()
        setup = subprocess.run(
            [str(venv_bin / "kazoo-crossbar"), "setup"], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
        )
        assert setup.returncode == 0, setup.stderr
        api_key = json.loads(setup.stdout.splitlines()[-1])["api_key"]
        serve_log = open(tmp_path / "serve.log", "wb")
        serve = subprocess.Popen(
            [str(venv_bin / "kazoo-crossbar"), "serve", "--host", "127.0.0.1", "--port", str(api_port)],
            cwd=cwd,
            env=env,
            stdout=serve_log,
            stderr=serve_log,
        )
        body = json.dumps({"data": {"api_key": api_key}}).encode()
        running = serve

        def login() -> tuple[int, dict]:
            assert running.poll() is None, (tmp_path / "serve.log").read_text()
            req = urllib.request.Request(f"http://127.0.0.1:{api_port}/v2/api_auth", data=body, method="PUT")
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())

        status, answer = eventually_blocking(
            login, what="the installed service logs in", timeout_s=60, retry_on=(OSError,)
        )
        assert status == 201 and answer["auth_token"]
        # the console comes from the installed package
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/ui/", timeout=10) as page:
            assert page.status == 200 and b'src="main.js"' in page.read()
            assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/ui/main.js", timeout=10) as script:
            assert script.read() == (REPO / "kazoo_crossbar" / "ui" / "main.js").read_bytes()
        assert not list(cwd.glob("*.log")) and sorted(p.name for p in cwd.iterdir()) == ["data"]
    finally:
        for proc in (serve, couch):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(30)
