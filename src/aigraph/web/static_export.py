"""Write the site as static files: the app, driven through Flask's test client, is the crawler's fetch.

Kept out of ``web/publishing.py`` (the blueprint) because it builds an app of its own.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from aigraph.core import Aigraph
from aigraph.errors import UsageError
from aigraph.site import build
from aigraph.web import create_app, publishing


def publish_site(aigraph: Aigraph, outdir: Any, site: str) -> build.SiteReport:
    """Write the site as static files by asking the app for every page (see ``aigraph.site.build``)."""
    if urlsplit(site).path not in ("", "/") or not urlsplit(site).netloc:
        raise UsageError(f"--site must be an origin such as https://example.org, not {site!r}")
    site = site.rstrip("/")
    # The copy's URLs are the site's, and the requests below name it as their Host.
    client = create_app(aigraph.settings.with_values(public_url=site), core=aigraph).test_client()

    def fetch(url: str, accept: str) -> build.Fetched:
        answer = client.get(url, base_url=site, headers={"Accept": accept})
        location = answer.headers.get("Location")
        if location and location.startswith(site + "/"):
            location = location[len(site) :]
        return build.Fetched(
            answer.status_code,
            answer.mimetype or "",
            answer.get_data(),
            location if location and location.startswith("/") else None,
        )

    dumps = [f"/dumps/{name}" for name in publishing.Publication(aigraph).dumps().file_names()]
    described = [
        f"{p}.{ext}"
        for p in ("/catalog", "/.well-known/void")
        for ext in publishing.DESCRIBED_SUFFIXES
    ]
    data = aigraph.dumps()
    resources = [] if data is None else build.resource_paths(data, aigraph.settings.base)
    return build.write_site(
        fetch,
        outdir,
        site=site,
        seeds=["/", *resources],
        files=[*dumps, *described, "/.well-known/void"],
        rdf_resources=resources,
        max_pages=aigraph.settings.max_pages,
        extra=build.server_configs(),
    )
