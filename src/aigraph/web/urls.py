"""Absolute URLs of this site, and which ``Host`` names a request may use.

Absolute URLs (catalogue, VoID, service description, JSON-LD, OpenAPI, the named-query list)
are built from the ``public_url`` setting when it is set; otherwise from the request's
``Host``, which must be one of the allowed host names (``allowed_hosts``, by default the listen
address and the loopback names). Any other ``Host`` is refused with 400 before a view runs, so
no answer, and no cache, ever holds a URL of a host the operator did not name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from flask import current_app, g, request
from werkzeug.wrappers import Response

from aigraph.errors import UsageError
from aigraph.settings import Settings

EXTENSION = "aigraph.urls"

#: Names every local server answers to; the listen address is added to them.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")

#: A ``Host`` header: a name or IPv4 address, or a bracketed IPv6 address; then a port.
_HOST = re.compile(r"(?P<name>[a-z0-9._-]+|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{1,5}))?")
#: Characters a path keeps when it is put into a generated link (RFC 3986 ``pchar`` and ``/``).
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


@dataclass(frozen=True)
class HostPolicy:
    """Where absolute URLs come from, and which ``Host`` names are served."""

    public_url: str
    allowed: frozenset[str]

    @classmethod
    def from_settings(cls, settings: Settings) -> HostPolicy:
        public = _parse_public_url(settings.public_url)
        named = {n.strip().lower() for n in re.split(r"[,\s]+", settings.allowed_hosts)}
        named.discard("")
        if not named:
            named = {settings.host.lower(), *LOOPBACK_NAMES}
        if public:
            named.add(urlsplit(public).hostname or "")
        return cls(public, frozenset(_unbracket(n) for n in named))

    def allows(self, host: str) -> bool:
        """Return whether the ``Host`` header ``host`` names an allowed host (any port)."""
        if "*" in self.allowed:
            return True
        found = _HOST.fullmatch(host.lower())
        return found is not None and _unbracket(found.group("name")) in self.allowed


def _unbracket(name: str) -> str:
    return name[1:-1] if name.startswith("[") and name.endswith("]") else name


def _parse_public_url(text: str) -> str:
    if not text:
        return ""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise UsageError(
            f"setting public_url: {text!r} must be an origin such as https://data.example.org"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise UsageError(f"setting public_url: {text!r} must be an origin, nothing more")
    return f"{parts.scheme}://{parts.netloc}".lower()


def policy() -> HostPolicy:
    found: HostPolicy = current_app.extensions[EXTENSION]
    return found


def host_allowed() -> bool:
    """Return whether this request's ``Host`` may be served.

    A request without ``Host`` (HTTP/1.0) is served: its URLs come from the server's own name.
    """
    host = request.environ.get("HTTP_HOST")
    return host is None or policy().allows(host)


def public_base() -> str:
    """Return the origin absolute URLs of this request start with (no trailing slash).

    Built from ``Host`` only when no ``public_url`` is set; such an answer is then marked
    so that it is not cached publicly (see ``uncache_host_answers``).
    """
    configured = policy().public_url
    if configured:
        return configured
    g.url_from_host = True
    return request.host_url.rstrip("/")


def absolute(path: str) -> str:
    """Return the absolute URL of the site-local ``path``."""
    return public_base() + local_path(path)


def local_path(path: str) -> str:
    """Return ``path`` as a link that stays on this site: never ``//host`` nor ``/\\host``.

    Leading slashes and backslashes collapse into one slash, and characters that would end
    the path (``?``, ``#``, spaces, backslashes, ...) are percent-encoded.
    """
    return "/" + quote(path.lstrip("/\\"), safe=_PATH_SAFE)


def uncache_host_answers(response: Response) -> None:
    """Keep an answer whose URLs came from ``Host`` out of shared caches.

    A shared cache in front of the server may key its entries on a name other than the
    ``Host`` the server saw; ``private`` keeps such answers in the browser's own cache.
    """
    if g.get("url_from_host"):
        response.cache_control.public = False
        response.cache_control.private = True
