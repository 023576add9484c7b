"""The connection broker: the only way a SERVICE call reaches the network.

The process that evaluates SERVICE keeps the query worker's sandbox: seccomp refuses it any
network socket and Landlock any TCP connect. When it must call an endpoint it asks the broker,
over a Unix socket it inherited, for a connection to a URL; the broker

- refuses a URL that no allow-listed prefix (``allow_service``) starts, or whose scheme, host
  or port differ from that prefix's: the allow-list is enforced here, at the connection, not
  by reading the query text;
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
import socket
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


def check_prefixes(prefixes: Sequence[str]) -> tuple[str, ...]:
    """Return the allow-listed prefixes, each checked to be an http(s) URL (``UsageError``)."""
    for prefix in prefixes:
        try:
            Endpoint.of(prefix)
        except ValueError as exc:
            raise UsageError(f"--allow-service {prefix}: {exc}") from None
    return tuple(prefixes)


def allowed(url: str, prefixes: Sequence[str]) -> Endpoint | None:
    """Return where ``url`` connects if an allow-listed prefix starts it, else None."""
    try:
        target = Endpoint.of(url)
    except ValueError:
        return None
    for prefix in prefixes:
        if url.startswith(prefix) and Endpoint.of(prefix) == target:
            return target
    return None


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
        raise QueryRefused(f"SERVICE <{url}> is not allow-listed; allowed: {' '.join(prefixes)}")
    try:
        found = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except OSError:
        raise EngineUnavailable(f"the SERVICE host {target.host} cannot be resolved") from None
    explicit = _literal_or_localhost(target.host)
    usable = [info for info in found if explicit or _public(str(info[4][0]))]
    if not usable:
        raise QueryRefused(
            f"SERVICE <{url}>: {target.host} resolves to a private or local address, which is "
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
    raise EngineUnavailable(f"the SERVICE endpoint {target.host}:{target.port} cannot be reached")


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
                self.refused += 1
                _LOG.info("SERVICE connection refused: %s", exc.message)
                kind = "refused" if isinstance(exc, QueryRefused) else "unavailable"
                reply.sendall(json.dumps({"error": exc.message, "kind": kind}).encode())
                return
            except (ValueError, KeyError, TypeError):
                reply.sendall(json.dumps({"error": "a malformed request", "kind": "x"}).encode())
                return
            with sock:
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
