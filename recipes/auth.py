"""The local serving endpoint's bearer token, shared by the endpoint and its clients.

It is kept in ``$MDK_HOME/serving/token`` (mode 0600).

The server checks ``Authorization: Bearer <token>`` with :func:`bearer_ok`, and clients send
:func:`token`, so both sides agree without configuration. ``MDK_SERVING_TOKEN`` overrides the
file (CI, or a token shared with another machine). Nothing happens at import time.
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
import time
from pathlib import Path

from recipes.errors import KitError
from recipes.target import mdk_home

ENV_VAR = "MDK_SERVING_TOKEN"
PREFIX = "mdk-"
_EMPTY_RETRIES = 50  # a file another process has just created may not hold its token yet
_EMPTY_WAIT = 0.02


def token_path(home: Path | str | None = None) -> Path:
    """Where the token is kept: ``$MDK_HOME/serving/token``.

    Args:
        home: the state folder; None for :func:`recipes.target.mdk_home`.
    """
    root = Path(home).expanduser().resolve() if home is not None else mdk_home()
    return root / "serving" / "token"


def token(home: Path | str | None = None, *, from_env: bool = True) -> str:
    """The serving token: ``MDK_SERVING_TOKEN`` if set, else the file, made on first use.

    The file is created exclusively (``O_CREAT | O_EXCL``, mode 0600) holding ``mdk-`` and
    ``secrets.token_urlsafe(32)``; when another process creates it first, its token is used.

    Args:
        home: the state folder; None for :func:`recipes.target.mdk_home`.
        from_env: False ignores ``MDK_SERVING_TOKEN`` (a stack whose token must not change
            with the caller's environment, e.g. ``mdk workspace``).

    Raises:
        KitError: the file is readable by group or others, is empty, or cannot be read.
    """
    env = os.environ.get(ENV_VAR, "").strip() if from_env else ""
    if env:
        return env
    path = token_path(home)
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = PREFIX + secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its token
        return _read(path)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, value.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return value


def _read(path: Path) -> str:
    """The token in ``path``, after checking its permissions (FileNotFoundError if absent)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise KitError(
            f"Cannot read the serving token {path} ({exc.strerror}): fix or delete it."
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KitError(
            f"The serving token {path} is open to other users (mode {stat.S_IMODE(mode):o}): "
            f"run `chmod 600 {path}`."
        )
    for _ in range(_EMPTY_RETRIES):
        try:
            value = path.read_text().strip()
        except OSError as exc:
            raise KitError(
                f"Cannot read the serving token {path} ({exc.strerror}): fix or delete it."
            ) from None
        if value:
            return value
        time.sleep(_EMPTY_WAIT)
    raise KitError(f"The serving token {path} is empty: delete it (`rm {path}`) to make a new one.")


def bearer_ok(header: str | None, expected: str) -> bool:
    """Whether an ``Authorization`` header carries ``expected`` as a bearer token.

    Accepts ``Bearer <token>`` with the scheme in any case; compares in constant time.

    Args:
        header: the request's ``Authorization`` header, or None when absent.
        expected: the server's token (see :func:`token`).
    """
    if not header or not expected:
        return False
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        return False
    return hmac.compare_digest(value.encode(), expected.encode())
