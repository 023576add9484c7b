"""Take the network (and file writes) away from a query worker, enforced by the kernel.

A worker that evaluates client SPARQL calls ``confine`` once, first thing after it is forked
(it then has a single thread, and every thread it starts later inherits the confinement):

- **seccomp** (Linux 3.5+, x86-64 and AArch64): a BPF filter makes ``socket()`` fail with
  EACCES for every address family but ``AF_UNIX`` (the worker's pipe to the server is a Unix
  socket, already open), and refuses ``io_uring`` (which could open sockets behind the filter's
  back), ``ptrace``, ``process_vm_readv/writev`` and ``pidfd_getfd`` (ways to borrow another
  process's sockets). A system call of another architecture (32-bit compatibility) kills the
  process. Sockets inherited from the server (its listener, clients' connections) are replaced
  by ``/dev/null`` before the filter is installed, so the worker holds no network socket.
- **Landlock** (Linux 5.13+, where enabled): the worker may only read the directories it needs
  (Python's import path, shared libraries, the store) and write nowhere; from ABI 4 TCP
  ``connect``/``bind`` are denied too, and from ABI 6 abstract Unix sockets and signals to
  processes outside the worker are.

Workers of the remote-backend engine keep their network (they talk to the backend), as do the
rdflib engine's when SERVICE endpoints are allow-listed: they are built with ``network=True``;
Landlock keeps their files read-only and, from ABI 4, their TCP connections to given ports.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import platform
import socket
import ssl
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_EACCES = 0x00050000 | errno.EACCES
_RET_EPERM = 0x00050000 | errno.EPERM
_LD_W_ABS, _JEQ_K, _JGE_K, _RET_K = 0x20, 0x15, 0x35, 0x06


@dataclass(frozen=True)
class _Arch:
    audit: int
    socket: int
    denied: tuple[int, ...]  # io_uring_setup/enter/register, ptrace, process_vm_*, pidfd_getfd
    x32: bool = False


_ARCHES = {
    "x86_64": _Arch(0xC000003E, 41, (425, 426, 427, 101, 310, 311, 438), x32=True),
    "aarch64": _Arch(0xC00000B7, 198, (425, 426, 427, 117, 270, 271, 438)),
}
_ARCHES["amd64"] = _ARCHES["x86_64"]
_ARCHES["arm64"] = _ARCHES["aarch64"]

_LANDLOCK_CREATE_RULESET, _LANDLOCK_ADD_RULE, _LANDLOCK_RESTRICT_SELF = 444, 445, 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH, _LANDLOCK_RULE_NET_PORT = 1, 2
_FS_EXECUTE, _FS_READ_FILE, _FS_READ_DIR = 1 << 0, 1 << 2, 1 << 3
_FS_ALL_V1 = (1 << 13) - 1
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1
#: Files and directories every worker may read, besides Python's import path.
_SYSTEM_READABLE = (
    "/usr/lib", "/usr/lib64", "/usr/local/lib", "/lib", "/lib64", "/etc/ld.so.cache",
    "/etc/localtime", "/usr/share/zoneinfo", "/dev/null", "/dev/urandom", "/proc/self",
)  # fmt: skip
#: What a worker that keeps the network reads to resolve names and check certificates.
_NETWORK_READABLE = (
    "/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf",
    "/etc/services", "/etc/protocols", "/etc/ssl", "/etc/pki", "/usr/share/ca-certificates",
)  # fmt: skip


@dataclass(frozen=True)
class SandboxStatus:
    """What confines (or would confine) a query worker on this machine."""

    #: Whether seccomp denies new network sockets.
    seccomp: bool = False
    #: The Landlock ABI version applied (0: none).
    landlock: int = 0
    #: Whether the worker keeps network access on purpose (remote backend).
    network: bool = False
    #: Why a mechanism is missing, for the start-up warning.
    missing: tuple[str, ...] = field(default=())

    @property
    def no_network(self) -> bool:
        """Whether the kernel stops this worker from opening network connections."""
        return self.seccomp

    def describe(self) -> str:
        """Return one line for the server's start-up log."""
        if self.network:
            net = "network kept for the backend"
        else:
            net = "no network (seccomp)" if self.seccomp else "NETWORK NOT BLOCKED"
        files = f"Landlock ABI {self.landlock}, read-only" if self.landlock else "no Landlock"
        line = f"query workers: {net}; {files}"
        return line + (f" ({'; '.join(self.missing)})" if self.missing else "")


def status() -> SandboxStatus:
    """Return what ``confine`` can apply here, without applying anything."""
    missing: list[str] = []
    arch = _ARCHES.get(platform.machine().lower())
    seccomp = sys.platform == "linux" and arch is not None and _libc() is not None
    if not seccomp:
        missing.append(f"no seccomp filter for {sys.platform}/{platform.machine()}")
    abi = landlock_abi()
    if not abi:
        missing.append("Landlock is not available in this kernel")
    return SandboxStatus(seccomp=seccomp, landlock=abi, missing=tuple(missing))


def confine(
    *, network: bool = False, readable: Iterable[str] = (), ports: Iterable[int] = ()
) -> SandboxStatus:
    """Confine this process for good: no network sockets (unless ``network``), read-only files.

    With ``network`` and ``ports``, TCP connections go only to those ports (and 53, for name
    resolution over TCP), where Landlock can enforce it (ABI 4+).

    Raise ``OSError`` if a mechanism this machine offers cannot be applied (the caller must
    then not run queries); return what was applied.
    """
    if sys.platform != "linux":
        return SandboxStatus(network=network, missing=(f"no sandbox on {sys.platform}",))
    libc = _libc()
    if libc is None or libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "cannot set no_new_privs")
    missing: list[str] = []
    if not network:
        _drop_network_sockets()
    allowed = [*readable, *_import_path(), *_SYSTEM_READABLE]
    if network:
        allowed += [*_NETWORK_READABLE, *_certificates()]
    abi = _landlock(libc, network, allowed, tuple(ports))
    if not abi:
        missing.append("Landlock is not available in this kernel")
    seccomp = False
    if not network:
        arch = _ARCHES.get(platform.machine().lower())
        if arch is None:
            missing.append(f"no seccomp filter for {platform.machine()}")
        else:
            _install_filter(libc, arch)
            seccomp = True
    return SandboxStatus(seccomp, abi, network, tuple(missing))


def landlock_abi() -> int:
    """Return the Landlock ABI version of the running kernel (0 if it has none)."""
    libc = _libc()
    if libc is None or sys.platform != "linux":
        return 0
    version = libc.syscall(_LANDLOCK_CREATE_RULESET, None, 0, _LANDLOCK_CREATE_RULESET_VERSION)
    return max(0, int(version))


# -- seccomp ------------------------------------------------------------------------------------


class _Filter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint32),
    ]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Filter))]


def filter_program(arch_name: str) -> list[tuple[int, int, int, int]]:
    """Return the BPF program (code, jt, jf, k) for ``arch_name`` (exposed for tests)."""
    arch = _ARCHES[arch_name]
    prog: list[tuple[int, int, int, int]] = [
        (_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        (_JEQ_K, 1, 0, arch.audit),
        (_RET_K, 0, 0, _RET_KILL_PROCESS),  # a foreign ABI: never legitimate here
        (_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
    ]
    if arch.x32:
        prog += [(_JGE_K, 0, 1, 0x40000000), (_RET_K, 0, 0, _RET_EPERM)]
    for number in arch.denied:
        prog += [(_JEQ_K, 0, 1, number), (_RET_K, 0, 0, _RET_EPERM)]
    prog += [
        (_JEQ_K, 1, 0, arch.socket),
        (_RET_K, 0, 0, _RET_ALLOW),
        (_LD_W_ABS, 0, 0, 16),  # args[0] (the address family), low 32 bits: little-endian
        (_JEQ_K, 0, 1, socket.AF_UNIX),
        (_RET_K, 0, 0, _RET_ALLOW),
        (_RET_K, 0, 0, _RET_EACCES),
    ]
    return prog


def _install_filter(libc: ctypes.CDLL, arch: _Arch) -> None:
    name = next(k for k, v in _ARCHES.items() if v is arch)
    steps = filter_program(name)
    array = (_Filter * len(steps))(*(_Filter(*step) for step in steps))
    program = _Program(len(steps), array)
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "cannot install the seccomp filter")


def _drop_network_sockets() -> None:
    """Replace every inherited socket that is not a Unix socket by /dev/null."""
    null = os.open(os.devnull, os.O_RDWR)
    try:
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd == null or not _is_network_socket(fd):
                continue
            os.dup2(null, fd, inheritable=False)
    finally:
        os.close(null)


def _is_network_socket(fd: int) -> bool:
    try:
        if not stat.S_ISSOCK(os.fstat(fd).st_mode):
            return False
        sock = socket.socket(fileno=fd)
    except OSError:
        return False
    try:
        return sock.family != socket.AF_UNIX
    finally:
        sock.detach()


# -- Landlock -----------------------------------------------------------------------------------


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _NetPort(ctypes.Structure):
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _landlock(
    libc: ctypes.CDLL, network: bool, readable: Iterable[str], ports: tuple[int, ...]
) -> int:
    abi = landlock_abi()
    if not abi:
        return 0
    handled = _FS_ALL_V1 | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0)
    handled |= _FS_IOCTL_DEV if abi >= 5 else 0
    restrict_net = abi >= 4 and (not network or bool(ports))
    net = _NET_BIND_TCP | _NET_CONNECT_TCP if restrict_net else 0
    scoped = 0 if abi < 6 else _SCOPE_SIGNAL | (0 if network else _SCOPE_ABSTRACT_UNIX_SOCKET)
    attr = _RulesetAttr(handled, net, scoped)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = libc.syscall(_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "cannot create the Landlock ruleset")
    try:
        for path in dict.fromkeys(os.path.abspath(p) for p in readable):
            _allow_reading(libc, ruleset, path)
        for port in sorted({*ports, 53}) if network and restrict_net else ():
            rule = _NetPort(_NET_CONNECT_TCP, port)
            if libc.syscall(
                _LANDLOCK_ADD_RULE, ruleset, _LANDLOCK_RULE_NET_PORT, ctypes.byref(rule), 0
            ):
                raise OSError(ctypes.get_errno(), f"cannot allow TCP port {port}")
        if libc.syscall(_LANDLOCK_RESTRICT_SELF, ruleset, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot apply the Landlock ruleset")
    finally:
        os.close(ruleset)
    return abi


def _allow_reading(libc: ctypes.CDLL, ruleset: int, path: str) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # not on this machine
    try:
        is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
        access = _FS_READ_FILE | (_FS_READ_DIR if is_dir else 0)
        rule = _PathBeneath(access, fd)
        if libc.syscall(
            _LANDLOCK_ADD_RULE, ruleset, _LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule), 0
        ):
            raise OSError(ctypes.get_errno(), f"cannot add a Landlock rule for {path}")
    finally:
        os.close(fd)


def _import_path() -> list[str]:
    """Return the directories Python imports from (a worker may import lazily)."""
    found = [p for p in sys.path if p and os.path.isabs(p)]
    return found + [sys.prefix, sys.base_prefix, sys.exec_prefix]


def certificate_paths() -> tuple[str, ...]:
    """Where CA certificates live: what a process without network reads to check TLS.

    The SERVICE process (``federation.py``) speaks TLS on sockets the broker connects for it.
    """
    return tuple(dict.fromkeys([*_certificates(), "/etc/ssl", "/usr/share/ca-certificates"]))


def _certificates() -> list[str]:
    """Return where this Python looks for CA certificates."""
    paths = ssl.get_default_verify_paths()
    found: list[str | None] = [paths.cafile, paths.capath, paths.openssl_cafile]
    found += [paths.openssl_capath]
    found += [os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")]
    return [p for p in found if p]


_LIBC: list[ctypes.CDLL | None] = []


def _libc() -> ctypes.CDLL | None:
    if not _LIBC:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.syscall.restype = ctypes.c_long
            _LIBC.append(libc)
        except OSError:
            _LIBC.append(None)
    return _LIBC[0]
