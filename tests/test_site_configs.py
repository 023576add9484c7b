"""The web-server configurations ``aigraph publish`` writes next to the static copy are the
package's ``site/configs/`` files, byte for byte."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

from aigraph.site import build as publish

#: SHA-256 of each configuration as ``aigraph publish`` wrote it when the text moved from
#: ``publish.py`` into package data; a deliberate change to a configuration updates it here.
WRITTEN = {
    ".htaccess": "c456cc0243242a154a251cb485ec1aefb9740c791f61012f76be5cd32bf59d9d",
    "nginx.conf": "68413ac910d5e96200e637a7b59b113e695ef814b6565e9b373cfa6527786ee4",
    ".nojekyll": hashlib.sha256(b"").hexdigest(),
}


def test_configs_are_the_package_files():
    configs = publish.server_configs()
    data = resources.files("aigraph.site").joinpath("configs")
    assert configs[".htaccess"] == data.joinpath("htaccess").read_bytes()
    assert configs["nginx.conf"] == data.joinpath("nginx.conf").read_bytes()


def test_publish_writes_the_same_bytes(tmp_path: Path):
    def fetch(url: str, accept: str) -> publish.Fetched:  # pragma: no cover - nothing to fetch
        raise AssertionError(f"no page should be fetched, asked for {url}")

    publish.write_site(
        fetch,
        tmp_path,
        site="https://aigraph.example.org",
        seeds=[],
        files=[],
        rdf_resources=[],
        extra=publish.server_configs(),
    )
    written = {name: hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() for name in WRITTEN}
    assert written == WRITTEN


def test_configs_are_complete():
    configs = publish.server_configs()
    htaccess, nginx = configs[".htaccess"].decode(), configs["nginx.conf"].decode()
    assert "RewriteEngine On" in htaccess and "Header append Vary Accept" in htaccess
    assert nginx.count("{") == nginx.count("}") and nginx.rstrip().endswith("}")
    assert "map $arg_lang $aigraph_lang" in nginx
