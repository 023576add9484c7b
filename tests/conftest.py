"""Shared fixtures: the app, a test client, a CLI runner, and a live server on loopback."""

from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from aigraph.core import Aigraph
from aigraph.settings import Settings
from aigraph.web import create_app

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def core() -> Iterator[Aigraph]:
    aigraph = Aigraph.open(Settings(executors=2, max_rows=1000))
    yield aigraph
    aigraph.close()


@pytest.fixture(scope="session")
def app(core):
    app = create_app(core=core)
    app.config["TESTING"] = True
    return app


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


class LiveServer:
    """An ``aigraph serve`` process on a free loopback port; its output is kept in ``lines``."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        full_env = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aigraph", "serve", "--host", "127.0.0.1", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=full_env,
        )
        self.lines: collections.deque[str] = collections.deque(maxlen=20000)
        self._started = threading.Event()
        self.url = ""
        threading.Thread(target=self._read, daemon=True).start()
        if not self._started.wait(90) or not self.url:
            self.stop()
            raise RuntimeError("aigraph serve did not start:\n" + self.output)

    def _read(self) -> None:
        # Always drain the pipe: a server whose log pipe is full would block.
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if not self.url:
                found = re.search(r"at (http://127\.0\.0\.1:\d+)/", line)
                if found:
                    self.url = found.group(1)
                    self._started.set()
        self._started.set()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> int | None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self.process.returncode


@pytest.fixture(scope="session")
def live_server() -> Iterator[str]:
    """The base URL of a real ``aigraph serve`` over the bundled data."""
    server = LiveServer("--max-rows", "1000")
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """A real headless Chromium (Debian's ``chromium`` and ``chromium-driver``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="aigraph-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
        f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
