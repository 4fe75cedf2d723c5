"""Runs the `scim2-server` test server (PyPI package scim2-server) as an oinspect peer.

Environment:
  PORT                  port to listen on, on 127.0.0.1 only (required)
  OINSPECT_PEER_TOKEN   the only bearer token the server accepts (required; never printed)

scim2-server's own command (`scim2_server.testserver.cli`) does the serving: the RFC 7643
default schemas and resource types (User with the EnterpriseUser extension, Group), every
feature advertised in /ServiceProviderConfig except cursor paging, the bearer_token scheme,
in-memory storage, a threaded wsgiref server, base URL http://127.0.0.1:$PORT/v2.
Its `--bearer-token` option would put the token on the command line (visible in `ps`), so the
token is passed through the environment and handed to the CLI parser in-process.

The server exits when its parent dies: PR_SET_PDEATHSIG on Linux, and a watchdog that polls
the parent pid everywhere (PDEATHSIG follows the parent *thread*, and is lost if the parent
died before the call).
"""

import ctypes
import os
import signal
import sys
import threading
import time


def die_with_parent() -> None:
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            PR_SET_PDEATHSIG = 1
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent or parent == 1:
        os._exit(0)

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def main() -> None:
    port = os.environ.get("PORT", "")
    token = os.environ.get("OINSPECT_PEER_TOKEN", "")
    if not port.isdigit():
        sys.exit("scim2_server_peer.py: set PORT to the port to listen on")
    if not token:
        sys.exit("scim2_server_peer.py: set OINSPECT_PEER_TOKEN to the bearer token to accept")
    die_with_parent()
    # SIGTERM: stop at once, like Ctrl-C would (in-memory data is thrown away anyway).
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    from scim2_server.testserver import cli

    sys.argv = [
        "scim2-server",
        "--hostname", "127.0.0.1",
        "--port", port,
        "--bearer-token", token,
        *sys.argv[1:],
    ]
    cli.main()


if __name__ == "__main__":
    main()
