"""The Unity Catalog registry routes MLflow's ``databricks-uc`` client calls.

``/api/2.0/mlflow/unity-catalog/...``, as listed by ``UcModelRegistryService`` in
``mlflow.protos.databricks_uc_registry_service_pb2``: GET requests carry their fields in the
query string, the others in a JSON body. Answers are the protobuf JSON of the matching
``...Response`` message. The state is a :class:`~.uc_store.RegistryStore`.

Files move through the databricks-sdk Files API (:mod:`.files`): the double answers the
client's "is the SDK models artifact repository enabled" call with true, so no client-side
setting is needed. A client that sets ``MLFLOW_USE_DATABRICKS_SDK_MODEL_ARTIFACTS_REPO_FOR_UC
=false`` asks for temporary credentials instead; they say ``DEFAULT_STORAGE``, and the
client then uses presigned URLs, which :mod:`.files` serves as well.
"""

from __future__ import annotations

import json
import time

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from recipes.errors import ApiError, bad_request
from recipes.workspace.uc_store import RegistryStore

UC = "/api/2.0/mlflow/unity-catalog"
#: the header MLflow reads a source run's workspace id from (``_DATABRICKS_ORG_ID_HEADER``)
ORG_ID_HEADER = "x-databricks-org-id"
CREDENTIALS_TTL_S = 15 * 60


async def _body(request: Request) -> dict:
    if request.method == "GET":
        return dict(request.query_params)
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise bad_request(f"Malformed JSON: {exc}.") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


def routes(store: RegistryStore, workspace_id: str) -> APIRouter:
    """The registry's routes over ``store``."""
    router = APIRouter()

    def api(method: str, path: str):
        """Register ``handler(body) -> dict`` for ``method UC+path``."""

        def register(handler):
            async def endpoint(request: Request):
                return await run_in_threadpool(handler, await _body(request))

            router.add_api_route(UC + path, endpoint, methods=[method], name=handler.__name__)
            return handler

        return register

    # ------------------------------------------------------------ registered models
    @api("POST", "/registered-models/create")
    def create_registered_model(b):
        if b.get("deployment_job_id"):
            raise _not_imitated("deployment jobs")
        model = store.create_model(b.get("name"), b.get("description", ""), b.get("tags") or [])
        return {"registered_model": model}

    @api("GET", "/registered-models/get")
    def get_registered_model(b):
        return {"registered_model": store.get_model(b.get("name"))}

    @api("PATCH", "/registered-models/update")
    def update_registered_model(b):
        if b.get("deployment_job_id"):
            raise _not_imitated("deployment jobs")
        model = store.update_model(
            b.get("name"), description=b.get("description"), new_name=b.get("new_name")
        )
        return {"registered_model": model}

    @api("DELETE", "/registered-models/delete")
    def delete_registered_model(b):
        store.delete_model(b.get("name"))
        return {}

    @api("GET", "/registered-models/search")
    def search_registered_models(b):
        return store.search_models(b.get("max_results"), b.get("page_token"))

    @api("POST", "/registered-models/set-tag")
    def set_registered_model_tag(b):
        store.set_model_tag(b.get("name"), b.get("key", ""), b.get("value", ""))
        return {}

    @api("DELETE", "/registered-models/delete-tag")
    def delete_registered_model_tag(b):
        store.delete_model_tag(b.get("name"), b.get("key", ""))
        return {}

    @api("POST", "/registered-models/alias")
    def set_registered_model_alias(b):
        store.set_alias(b.get("name"), b.get("alias", ""), b.get("version"))
        return {}

    @api("DELETE", "/registered-models/alias")
    def delete_registered_model_alias(b):
        store.delete_alias(b.get("name"), b.get("alias", ""))
        return {}

    @api("GET", "/registered-models/alias")
    def get_model_version_by_alias(b):
        return {"model_version": store.version_by_alias(b.get("name"), b.get("alias", ""))}

    @api("GET", "/registered-models:is-databricks-sdk-models-artifact-repository-enabled")
    def is_databricks_sdk_models_artifact_repository_enabled(b):
        return {"is_databricks_sdk_models_artifact_repository_enabled": True}

    # ------------------------------------------------------------ model versions
    @api("POST", "/model-versions/create")
    def create_model_version(b):
        return {"model_version": store.create_version(b, workspace_id)}

    @api("POST", "/model-versions/finalize")
    def finalize_model_version(b):
        return {"model_version": store.finalize_version(b.get("name"), b.get("version"))}

    @api("GET", "/model-versions/get")
    def get_model_version(b):
        return {"model_version": store.get_version(b.get("name"), b.get("version"))}

    @api("PATCH", "/model-versions/update")
    def update_model_version(b):
        version = store.update_version(b.get("name"), b.get("version"), b.get("description"))
        return {"model_version": version}

    @api("DELETE", "/model-versions/delete")
    def delete_model_version(b):
        store.delete_version(b.get("name"), b.get("version"))
        return {}

    @api("GET", "/model-versions/search")
    def search_model_versions(b):
        return store.search_versions(b.get("filter"), b.get("max_results"), b.get("page_token"))

    @api("POST", "/model-versions/set-tag")
    def set_model_version_tag(b):
        store.set_version_tag(b.get("name"), b.get("version"), b.get("key", ""), b.get("value"))
        return {}

    @api("DELETE", "/model-versions/delete-tag")
    def delete_model_version_tag(b):
        store.delete_version_tag(b.get("name"), b.get("version"), b.get("key", ""))
        return {}

    @api("GET", "/model-versions/get-download-uri")
    def get_model_version_download_uri(b):
        version = store.get_version(b.get("name"), b.get("version"))
        return {"artifact_uri": version["storage_location"]}

    @api("POST", "/model-versions/generate-temporary-credentials")
    def generate_temporary_model_version_credentials(b):
        store.get_version(b.get("name"), b.get("version"))  # 404 for an unknown version
        expires = int((time.time() + CREDENTIALS_TTL_S) * 1000)
        # DEFAULT_STORAGE: the client moves files through presigned URLs (see .files)
        return {"credentials": {"storage_mode": "DEFAULT_STORAGE", "expiration_time": expires}}

    @api("POST", "/model-versions/emit-lineage")
    def emit_model_version_lineage(b):
        store.get_version(b.get("name"), b.get("version"))
        return {}

    @router.api_route(UC + "/{rest:path}", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
    async def not_imitated(rest: str, request: Request):
        raise ApiError(
            404,
            "ENDPOINT_NOT_FOUND",
            f"{request.method} {request.url.path} is not imitated by the local workspace double.",
        )

    return router


def _not_imitated(what: str) -> ApiError:
    return ApiError(501, "NOT_IMPLEMENTED", f"The local workspace double does not imitate {what}.")
