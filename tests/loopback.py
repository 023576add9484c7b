"""A loopback TCP listener for tests that prove a query never connects anywhere."""

from __future__ import annotations

import socket
import threading


class Listener:
    """A server on 127.0.0.1 that counts the connections it gets.

    Each connection gets ``reply`` (nothing: it hangs up at once), so a test can also check
    that what a remote end says never reaches the client.
    """

    def __init__(self, reply: bytes = b"") -> None:
        self.reply = reply
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)
        self.port: int = self.server.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            try:
                if self.reply:
                    conn.settimeout(2)
                    conn.recv(65536)
                    conn.sendall(self.reply)
            except OSError:
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.server.close()
