"""The fork server for model workers: import MLflow once, fork a warm worker per request.

A worker started from scratch spends ~4 CPU-s importing MLflow, sklearn and the registry's
store before it can load a 0.1 s model. ``python -m recipes.endpoint.zygote --fd N`` pays
that once per endpoint process, then forks: a forked worker opens its own registry
connection (~0.1 s) and is a warm spare. The front's side is
:mod:`recipes.endpoint.zygote_client`.

On its control socket (the inherited fd ``N``) the zygote reads, framed as in
:mod:`recipes.endpoint.protocol`:

* ``{"op": "fork", "id": i, "log_path": p}`` with the worker's end of a fresh socketpair
  attached (``SCM_RIGHTS``); it forks a worker that logs to ``p`` and serves that socket
  (:func:`recipes.endpoint.worker.serve`), and answers ``{"forked": i, "pid": pid}``;
* ``{"op": "kill", "pid": pid, "signal": s}``, which signals ``pid`` only while it is a
  child not yet reaped, so a reused pid is never hit.

and writes ``{"exited": pid, "code": c}`` when it reaps a worker (``c`` is negative for a
signal, as ``Popen.returncode``). It exits at EOF; its workers get SIGTERM then
(``PR_SET_PDEATHSIG``), as it does when the front dies.

Forking is safe here because no Python thread runs. The one native thread is the purge
thread of the jemalloc that pyarrow bundles (``jemalloc_bg_thd``, started at import);
jemalloc takes its locks around ``fork`` (``pthread_atfork``) and restarts the thread in the
child as needed, so Python's generic "multi-threaded fork" warning is silenced for it alone.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import pickle
import selectors
import signal
import socket
import sys
import traceback
import warnings

from recipes.endpoint import protocol, worker

log = logging.getLogger("mdk.zygote")


class Zygote:
    """The zygote's loop over its control socket and its children's exits."""

    def __init__(self, ctrl: socket.socket):
        self.ctrl = ctrl
        self.children: set[int] = set()
        self.fds: collections.deque[int] = collections.deque()
        self.buf = b""
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.selector = selectors.DefaultSelector()

    def run(self) -> int:
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGCHLD, lambda *_: None)  # the wakeup fd interrupts select
        self.selector.register(self.ctrl, selectors.EVENT_READ)
        self.selector.register(self.wake_r, selectors.EVENT_READ)
        protocol.send(self.ctrl, {"ok": True, "zygote": True, "pid": os.getpid()})
        while True:
            for key, _ in self.selector.select():
                if key.fileobj is self.ctrl:
                    if not self._read_requests():
                        return 0
                else:
                    while True:
                        try:
                            if not os.read(self.wake_r, 512):
                                break
                        except BlockingIOError:
                            break
            self._reap()

    def _read_requests(self) -> bool:
        """Handle what arrived on the control socket; False at EOF."""
        data, fds, _, _ = socket.recv_fds(self.ctrl, 1 << 16, 8)
        self.fds.extend(fds)
        if not data:
            return False
        self.buf += data
        while len(self.buf) >= protocol.HEADER.size:
            (size,) = protocol.HEADER.unpack_from(self.buf)
            end = protocol.HEADER.size + size
            if len(self.buf) < end:
                break
            msg, self.buf = pickle.loads(self.buf[protocol.HEADER.size : end]), self.buf[end:]
            if msg.get("op") == "fork":
                fd = self.fds.popleft()
                pid = self._fork(fd, msg.get("log_path"))
                os.close(fd)
                self.children.add(pid)
                protocol.send(self.ctrl, {"forked": msg["id"], "pid": pid})
            elif msg.get("op") == "kill" and msg.get("pid") in self.children:
                os.kill(msg["pid"], msg.get("signal", signal.SIGKILL))
        return True

    def _fork(self, fd: int, log_path: str | None) -> int:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", "This process .* is multi-threaded", DeprecationWarning
            )
            pid = os.fork()
        if pid:
            return pid
        code = 1
        try:  # the child: drop the zygote's handles, then become a worker
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            self.selector.close()
            self.ctrl.close()
            for other in (self.wake_r, self.wake_w, *self.fds):
                os.close(other)
            worker.die_with_parent()
            if log_path:
                worker.redirect_output(log_path)
            code = worker.serve(socket.socket(fileno=fd))
        except BaseException:  # noqa: BLE001 - a forked child must never return into the loop
            traceback.print_exc()
        finally:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        return 0  # not reached

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.discard(pid)
            protocol.send(self.ctrl, {"exited": pid, "code": os.waitstatus_to_exitcode(status)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recipes.endpoint.zygote")
    parser.add_argument("--fd", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    worker.die_with_parent()
    ctrl = socket.socket(fileno=args.fd)
    worker.warm_imports()
    try:
        code = Zygote(ctrl).run()
    except (OSError, EOFError) as exc:
        log.info("control socket closed: %s", exc)
        code = 0
    logging.shutdown()
    os._exit(code)  # skip interpreter teardown (seconds with MLflow loaded)


if __name__ == "__main__":
    sys.exit(main())
