"""Model version files: the Files API and presigned URLs, over ``<home>/uc/files``.

MLflow's UC client moves a version's files in one of two plain-HTTP ways, and the double
serves both from the same folder:

- the databricks-sdk Files API (``DatabricksSDKModelsArtifactRepository``):
  ``PUT|GET|HEAD /api/2.0/fs/files/Models/<c>/<s>/<m>/<v>/<file>`` and
  ``GET|HEAD /api/2.0/fs/directories/Models/...``;
- presigned URLs (``PresignedUrlArtifactRepository``, for ``DEFAULT_STORAGE``):
  ``POST /api/2.0/fs/create-upload-url`` and ``create-download-url`` answer a URL under
  ``/mdk/presigned/...`` that carries its own HMAC signature and expiry, so the client
  sends it no token (as with a cloud bucket's URL). The databricks-sdk's own downloads ask
  ``create-download-url`` too.

Only ``/Models/`` paths of existing versions are served. Files can be written only while
their version is ``PENDING_REGISTRATION``; ``finalize`` makes it read-only, as in UC.
Errors carry the Files API's codes: 404 ``NOT_FOUND``, 403 ``PERMISSION_DENIED``,
409 ``ALREADY_EXISTS``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
import time
from email.utils import formatdate
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from recipes.errors import ApiError, invalid
from recipes.workspace.uc_store import PENDING, RegistryStore

FILES = "/api/2.0/fs/files"
DIRECTORIES = "/api/2.0/fs/directories"
PRESIGNED = "/mdk/presigned"
URL_TTL_S = 15 * 60
PAGE = 1000


def _missing(path: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"The file or directory '{path}' does not exist.")


class ModelFiles:
    """The ``/Models/...`` tree under ``store.files_root``, with UC's write rule."""

    def __init__(self, store: RegistryStore):
        self.store = store
        self._secret = secrets.token_bytes(32)

    def resolve(self, path: str, *, write: bool = False, file: bool = True) -> Path:
        """The local path for ``/Models/<c>/<s>/<m>/<v>/...``, after checking the version.

        Raises:
            ApiError: 400 for a path outside ``/Models/`` or with ``..``; 404 for an unknown
                version; 403 for a write to a finalized version.
        """
        parts = PurePosixPath("/" + path.lstrip("/")).parts[1:]
        if not parts or parts[0] != "Models" or any(p in ("", ".", "..") for p in parts):
            raise invalid(
                f"The local workspace double serves files under /Models/ only, got '{path}'."
            )
        if file and len(parts) < 6:  # a file lies inside a version's folder
            raise _missing(path)
        if len(parts) >= 5:
            name, version = ".".join(parts[1:4]), parts[4]
            status = self.store.version_status(name, version)
            if status is None:
                raise _missing(path)
            if write and status != PENDING:
                raise ApiError(
                    403,
                    "PERMISSION_DENIED",
                    f"Model version {name} version {version} is {status}: its files are read-only.",
                )
        elif write:
            raise _missing(path)
        return self.store.files_root.joinpath(*parts)

    # ------------------------------------------------------------------ presigned URLs

    def _sign(self, op: str, path: str, expires: int) -> str:
        msg = f"{op}\n{path}\n{expires}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()

    def presign(self, base_url: str, op: str, path: str) -> dict:
        """``{"url", "headers"}`` for one ``GET`` (op ``read``) or ``PUT`` (op ``write``)."""
        self.resolve(path, write=op == "write")
        path = "/" + path.lstrip("/")
        expires = int(time.time()) + URL_TTL_S
        query = urlencode({"op": op, "expires": expires, "sig": self._sign(op, path, expires)})
        return {"url": f"{base_url.rstrip('/')}{PRESIGNED}{quote(path)}?{query}", "headers": []}

    def check_signature(self, op: str, path: str, query) -> None:
        path = "/" + path.lstrip("/")
        try:
            expires = int(query.get("expires", ""))
        except ValueError:
            expires = 0
        good = hmac.compare_digest(self._sign(op, path, expires), query.get("sig", ""))
        if query.get("op") != op or not good or expires < time.time():
            raise ApiError(403, "PERMISSION_DENIED", "The presigned URL is invalid or expired.")


async def _upload(request: Request, target: Path, overwrite: bool, path: str) -> Response:
    """Stream the body into a temporary file beside ``target``, then rename it into place."""
    if target.is_dir():
        raise invalid(f"'{path}' is a directory.")
    if target.exists() and not overwrite:
        raise ApiError(409, "ALREADY_EXISTS", f"The file '{path}' already exists.")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as f:
            async for chunk in request.stream():
                await run_in_threadpool(f.write, chunk)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return Response(status_code=204)


def _download(target: Path, path: str) -> FileResponse:
    if not target.is_file():
        raise _missing(path)
    stat = target.stat()
    headers = {"last-modified": formatdate(stat.st_mtime, usegmt=True)}
    return FileResponse(target, media_type="application/octet-stream", headers=headers)


def routes(files: ModelFiles) -> APIRouter:
    """The Files API routes and the presigned-URL routes over ``files``."""
    router = APIRouter()

    @router.put(FILES + "/{path:path}")
    async def upload(path: str, request: Request):
        overwrite = request.query_params.get("overwrite", "true").lower() != "false"
        return await _upload(request, files.resolve(path, write=True), overwrite, path)

    @router.api_route(FILES + "/{path:path}", methods=["GET", "HEAD"])
    def download(path: str):
        return _download(files.resolve(path), path)

    @router.api_route(DIRECTORIES + "/{path:path}", methods=["GET", "HEAD"])
    def directory(path: str, request: Request):
        folder = files.resolve(path, file=False)
        if not folder.is_dir():
            raise _missing(path)
        if request.method == "HEAD":
            return Response(status_code=200)
        prefix = "/" + path.strip("/")
        contents = []
        for child in sorted(folder.iterdir()):
            if child.name.startswith(".upload-"):
                continue
            stat = child.stat()
            entry = {
                "path": f"{prefix}/{child.name}",
                "name": child.name,
                "is_directory": child.is_dir(),
                "last_modified": int(stat.st_mtime * 1000),
            }
            if not child.is_dir():
                entry["file_size"] = stat.st_size
            contents.append(entry)
        token = int(request.query_params.get("page_token") or 0)
        out: dict = {"contents": contents[token : token + PAGE]}
        if token + PAGE < len(contents):
            out["next_page_token"] = str(token + PAGE)
        return out

    @router.post("/api/2.0/fs/create-download-url")
    async def create_download_url(request: Request):
        path = await _path_of(request)
        return files.presign(str(request.base_url), "read", path)

    @router.post("/api/2.0/fs/create-upload-url")
    async def create_upload_url(request: Request):
        path = await _path_of(request)
        return files.presign(str(request.base_url), "write", path)

    @router.get(PRESIGNED + "/{path:path}")
    def presigned_get(path: str, request: Request):
        files.check_signature("read", path, request.query_params)
        return _download(files.resolve(path), path)

    @router.put(PRESIGNED + "/{path:path}")
    async def presigned_put(path: str, request: Request):
        files.check_signature("write", path, request.query_params)
        return await _upload(request, files.resolve(path, write=True), True, path)

    return router


async def _path_of(request: Request) -> str:
    """``path`` from the JSON body (MLflow) or the query string (databricks-sdk)."""
    path = request.query_params.get("path")
    if path is None:
        try:
            path = (await request.json()).get("path")
        except ValueError:
            path = None
    if not path:
        raise invalid("Missing required field: path.")
    return path
