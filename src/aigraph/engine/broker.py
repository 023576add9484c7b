"""The connection broker: the only way a SERVICE call reaches the network.

The process that evaluates SERVICE keeps the query worker's sandbox: seccomp refuses it any
network socket and Landlock any TCP connect. When it must call an endpoint it asks the broker,
over a Unix socket it inherited, for a connection to a URL; the broker

- refuses a URL that no allow-listed prefix (``allow_service``) matches: same scheme, host and
  port, and a path at or below the prefix's path at a segment boundary (``target``); the
  allow-list is enforced here, at the connection, not by reading the query text. The broker
  cannot see what is written on the socket it hands over: the SERVICE side sends, as its
  request target, exactly the path this module checked and normalised (``Target``);
- resolves the host itself and refuses loopback, private, link-local, multicast, reserved and
  unspecified addresses unless the prefix names that address literally (``127.0.0.1``, ``::1``)
  or ``localhost`` (a public name that resolves to a private address is refused: no DNS
  rebinding into the local network);
- connects within ``service_timeout`` and hands the connected socket over (SCM_RIGHTS).

The asking side sends its request with one end of a fresh socket pair, on which the broker
answers, so several workers can share the channel. ``connect`` is that side.
"""

from __future__ import annotations

import array
import ipaddress
import json
import logging
import re
import socket
import string
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from aigraph.errors import EngineUnavailable, QueryRefused, UsageError

_LOG = logging.getLogger("aigraph.broker")
_MAX_MESSAGE = 8192
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Endpoint:
    """The scheme, host and port a URL connects to."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Endpoint:
        """Read ``url``; raise ``ValueError`` if it is no http(s) URL without credentials."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"{url!r} is not an http or https URL")
        if parts.username is not None or parts.password is not None:
            raise ValueError(f"{url!r} carries credentials")
        return cls(scheme, parts.hostname.lower(), parts.port or _DEFAULT_PORTS[scheme])


#: What a URL may hold: printable ASCII (no space, no control character, no fragment).
_URL_CHARS = re.compile(r"[!-~]*")
#: A path: RFC 3986 ``pchar`` and ``/`` (no backslash, which some servers read as ``/``).
_PATH = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")


@dataclass(frozen=True)
class Target:
    """Where a URL connects and the request target it sends, its path checked and normalised.

    The path has its escapes of unreserved characters decoded (``%7E`` is ``~``, ``%2E`` is
    ``.``), other escapes in upper case, and no dot-segment: ``.`` or ``..`` (also when written
    ``%2E``, split off by an escaped slash ``%2F``, or followed by ``;`` parameters) is refused,
    so the path a server resolves is the path that was checked.
    """

    endpoint: Endpoint
    path: str
    query: str = ""

    @classmethod
    def of(cls, url: str) -> Target:
        """Read ``url``; raise ``ValueError`` saying what is wrong with it."""
        if not _URL_CHARS.fullmatch(url):
            raise ValueError(f"{url!r} holds a space, a control or a non-ASCII character")
        if "#" in url:
            raise ValueError(f"{url!r} has a fragment (#)")
        endpoint = Endpoint.of(url)
        parts = urlsplit(url)
        return cls(endpoint, normal_path(parts.path), parts.query)

    @property
    def request_target(self) -> str:
        """What the request line names: the checked path and the query, if any."""
        return f"{self.path}?{self.query}" if self.query else self.path

    def within(self, prefix: Target) -> bool:
        """Whether this is ``prefix``'s scheme, host and port, at or below its path."""
        if self.endpoint != prefix.endpoint:
            return False
        if prefix.path.endswith("/"):
            return self.path.startswith(prefix.path)
        return self.path == prefix.path or self.path.startswith(prefix.path + "/")


def normal_path(path: str) -> str:
    """Return ``path`` normalised (see ``Target``); raise ``ValueError`` for a dot-segment."""
    if not _PATH.fullmatch(path):
        raise ValueError(f"the path {path!r} holds a character a URL path may not hold")

    def unescape(found: re.Match[str]) -> str:
        char = chr(int(found.group(1), 16))
        return char if char in _UNRESERVED else f"%{found.group(1).upper()}"

    normal = _ESCAPE.sub(unescape, path) or "/"
    if not normal.startswith("/"):
        raise ValueError(f"the path {path!r} is not absolute")
    for segment in re.split("/|%2F", normal):
        name = segment.partition(";")[0]
        if name and len(name) <= 2 and set(name) == {"."}:  # a dot-segment: one or two dots
            raise ValueError(f"the path {path!r} has a dot-segment (. or ..)")
    return normal


def check_prefixes(prefixes: Sequence[str]) -> tuple[str, ...]:
    """Return the allow-listed prefixes, each checked to be an http(s) URL (``UsageError``)."""
    for prefix in prefixes:
        try:
            target = Target.of(prefix)
        except ValueError as exc:
            raise UsageError(f"--allow-service {prefix}: {exc}") from None
        if target.query:
            raise UsageError(
                f"--allow-service {prefix}: a prefix is scheme://host[:port]/path, "
                "without a query (?)"
            )
    return tuple(prefixes)


def allowed(url: str, prefixes: Sequence[str]) -> Target | None:
    """Return where ``url`` connects and what it asks if an allow-listed prefix matches it.

    A prefix matches a URL of its scheme, host and port whose path is the prefix's path or
    lies below it at a segment boundary: ``/sparql`` matches ``/sparql`` and ``/sparql/x``,
    not ``/sparqlfoo``; ``/api/`` matches every path under ``/api/``.
    """
    try:
        target = Target.of(url)
    except ValueError:
        return None
    for prefix in prefixes:
        try:
            if target.within(Target.of(prefix)):
                return target
        except ValueError:
            continue
    return None


def not_allowed(url: str, prefixes: Sequence[str]) -> QueryRefused:
    """The error for a URL ``allowed`` refuses."""
    return QueryRefused(
        f"SERVICE <{url}> is not allow-listed (a path with . or .. segments never is); "
        f"allowed: {' '.join(prefixes)}"
    )


def _literal_or_localhost(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def open_connection(url: str, prefixes: Sequence[str], timeout: float) -> socket.socket:
    """Connect to ``url``'s host and port if the allow-list lets it, else raise."""
    target = allowed(url, prefixes)
    if target is None:
        raise not_allowed(url, prefixes)
    where = target.endpoint
    try:
        found = socket.getaddrinfo(where.host, where.port, type=socket.SOCK_STREAM)
    except OSError:
        raise EngineUnavailable(f"the SERVICE host {where.host} cannot be resolved") from None
    explicit = _literal_or_localhost(where.host)
    usable = [info for info in found if explicit or _public(str(info[4][0]))]
    if not usable:
        raise QueryRefused(
            f"SERVICE <{url}>: {where.host} resolves to a private or local address, which is "
            "refused unless the allow-list names that address"
        )
    for family, kind, proto, _, address in usable:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except OSError:
            sock.close()
            continue
        return sock
    raise EngineUnavailable(f"the SERVICE endpoint {where.host}:{where.port} cannot be reached")


class Broker:
    """A thread of the server that connects for the SERVICE process, over a Unix socket pair.

    ``client`` is the end the SERVICE process inherits; the server keeps ``_server``.
    """

    def __init__(self, prefixes: Sequence[str], timeout: float) -> None:
        self.prefixes = tuple(prefixes)
        self.timeout = timeout
        self._server, self.client = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.connections = 0
        self.refused = 0
        self._counting = threading.Lock()  # each request is answered in a thread of its own
        self._thread = threading.Thread(target=self._serve, name="aigraph-broker", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop answering: the SERVICE process's requests fail from now on."""
        for end in (self._server, self.client):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()

    def detach_in_child(self, *, keep_client: bool) -> None:
        """In a forked child: let go of the server's end, and of the client's unless kept.

        The descriptors are closed without touching the parent's sockets (the child's copies).
        """
        ends = [self._server] if keep_client else [self._server, self.client]
        for end in ends:
            try:
                fd = end.detach()
            except OSError:
                continue
            if fd >= 0:
                _close_fd(fd)

    def _serve(self) -> None:
        while True:
            try:
                data, fds = _receive(self._server)
            except OSError:
                return
            if not data and not fds:
                return  # the channel was closed
            threading.Thread(target=self._answer, args=(data, fds), daemon=True).start()

    def _answer(self, data: bytes, fds: list[int]) -> None:
        if not fds:
            return
        reply = socket.socket(fileno=fds[0])
        for extra in fds[1:]:
            _close_fd(extra)
        with reply:
            try:
                url = str(json.loads(data)["url"])
                sock = open_connection(url, self.prefixes, self.timeout)
            except (QueryRefused, EngineUnavailable) as exc:
                with self._counting:
                    self.refused += 1
                _LOG.info("SERVICE connection refused: %s", exc.message)
                kind = "refused" if isinstance(exc, QueryRefused) else "unavailable"
                reply.sendall(json.dumps({"error": exc.message, "kind": kind}).encode())
                return
            except (ValueError, KeyError, TypeError):
                reply.sendall(json.dumps({"error": "a malformed request", "kind": "x"}).encode())
                return
            with sock:
                with self._counting:
                    self.connections += 1
                reply.sendmsg(
                    [b'{"ok": true}'],
                    [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [sock.fileno()]))],
                )


def connect(channel: socket.socket, url: str, timeout: float) -> socket.socket:
    """Ask the broker on ``channel`` for a socket connected to ``url`` (the SERVICE side)."""
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with mine:
        with theirs:
            rights = array.array("i", [theirs.fileno()])
            channel.sendmsg(
                [json.dumps({"url": url}).encode()],
                [(socket.SOL_SOCKET, socket.SCM_RIGHTS, rights)],
            )
        mine.settimeout(timeout + 5)
        try:
            data, fds = _receive(mine)
        except OSError:
            raise EngineUnavailable("the connection broker did not answer") from None
    if fds:
        for extra in fds[1:]:
            _close_fd(extra)
        sock = socket.socket(fileno=fds[0])
        sock.settimeout(timeout)
        return sock
    try:
        answer = json.loads(data)
    except ValueError:
        answer = {}
    message = str(answer.get("error", "the connection broker refused the call"))
    if answer.get("kind") == "refused":
        raise QueryRefused(message)
    raise EngineUnavailable(message)


def _receive(sock: socket.socket) -> tuple[bytes, list[int]]:
    fds = array.array("i")
    data, ancillary, _, _ = sock.recvmsg(_MAX_MESSAGE, socket.CMSG_LEN(4 * fds.itemsize))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            usable = len(payload) - len(payload) % fds.itemsize
            fds.frombytes(payload[:usable])
    return data, list(fds)


def _close_fd(fd: int) -> None:
    try:
        socket.socket(fileno=fd).close()
    except OSError:
        pass
