"""`python -m bench.mail_sink PORT DIR`: the SMTP catcher in a process of its own, so the mail of
hundreds of orders does not compete with the load client for this process's interpreter."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from boxoffice.devstack import services


def main(port: int, mail_dir: Path) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with services.mail_catcher(port, mail_dir):
        stop.wait()


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
