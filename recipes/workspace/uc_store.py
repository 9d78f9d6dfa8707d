"""The Unity Catalog model registry's state on the double: models, versions, aliases, tags.

Everything lives under ``<home>/uc/``: ``registry.json`` (rewritten atomically on every
change, so a restart keeps it) and ``files/Models/<catalog>/<schema>/<model>/<version>/``,
the version's files as the Files API and presigned URLs serve them (:mod:`.files`).

UC's behaviour, as the real service answers MLflow's ``databricks-uc`` client:

- names have three levels, ``catalog.schema.model`` (the checks are in :mod:`.uc_rules`);
- versions are numbered per model from 1 and come back as strings; a new version is
  ``PENDING_REGISTRATION`` and accepts files until ``finalize`` makes it ``READY``;
- aliases point at one version each; ``latest`` and ``v<digits>`` are reserved;
- deleting a model deletes its versions; deleting a version drops its aliases;
- there are no stages: MLflow's UC client refuses stage calls itself, and the double has no
  stage route.

Records are plain dicts shaped like the protobuf JSON of
``mlflow.protos.databricks_uc_registry_messages_pb2`` (``RegisteredModel``, ``ModelVersion``).
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

from recipes.errors import ApiError, already_exists, invalid, not_found
from recipes.jsonfile import write_json
from recipes.workspace.uc_rules import check_alias, check_name, page, parse_filter, version_number

USER = "mdk-local@127.0.0.1"
PENDING = "PENDING_REGISTRATION"
READY = "READY"


def _now_ms() -> int:
    return int(time.time() * 1000)


class RegistryStore:
    """The registry's records under ``<home>/uc``; every method is safe across threads."""

    def __init__(self, home: Path):
        self.root = Path(home) / "uc"
        self.files_root = self.root / "files"
        self._path = self.root / "registry.json"
        self._lock = threading.RLock()
        self._models: dict[str, dict] = {}
        if self._path.exists():
            self._models = json.loads(self._path.read_text())["models"]

    # ------------------------------------------------------------------ persistence

    def _save(self) -> None:
        write_json(self._path, {"models": self._models}, indent=1, sort_keys=True)

    def version_dir(self, name: str, version) -> Path:
        """Where a version's files live: ``files/Models/<catalog>/<schema>/<model>/<version>``."""
        return self.files_root / "Models" / Path(*name.split(".")) / str(version)

    # ------------------------------------------------------------------ lookups

    def _model(self, name: str | None) -> dict:
        check_name(name)
        model = self._models.get(name)
        if model is None:
            raise not_found(f"Registered model '{name}' does not exist.")
        return model

    def _version(self, name: str | None, version) -> dict:
        model = self._model(name)
        record = model["versions"].get(version_number(version))
        if record is None:
            raise not_found(f"Model version '{name}' version {version} does not exist.")
        return record

    def _aliases(self, model: dict, version: str | None = None) -> list[dict]:
        return [
            {"alias": alias, "version": v}
            for alias, v in sorted(model["aliases"].items())
            if version is None or v == version
        ]

    def _model_json(self, model: dict) -> dict:
        out = {
            k: model[k]
            for k in (
                "name",
                "creation_timestamp",
                "last_updated_timestamp",
                "user_id",
                "description",
            )
        }
        out["aliases"] = self._aliases(model)
        out["tags"] = [{"key": k, "value": v} for k, v in sorted(model["tags"].items())]
        return out

    def _version_json(self, model: dict, record: dict, *, full: bool = True) -> dict:
        out = {k: v for k, v in record.items() if k != "tags"}
        if full:  # UC's search answers carry neither aliases nor tags
            out["aliases"] = self._aliases(model, record["version"])
            out["tags"] = [{"key": k, "value": v} for k, v in sorted(record["tags"].items())]
        return out

    # ------------------------------------------------------------------ registered models

    def create_model(self, name: str | None, description: str = "", tags=()) -> dict:
        with self._lock:
            check_name(name)
            if name in self._models:
                raise already_exists(f"Registered model '{name}' already exists.")
            now = _now_ms()
            model = {
                "name": name,
                "creation_timestamp": now,
                "last_updated_timestamp": now,
                "user_id": USER,
                "description": description or "",
                "tags": {t["key"]: t.get("value", "") for t in tags},
                "aliases": {},
                "versions": {},
                "next_version": 1,
            }
            self._models[name] = model
            self._save()
            return self._model_json(model)

    def get_model(self, name: str | None) -> dict:
        with self._lock:
            return self._model_json(self._model(name))

    def update_model(self, name: str | None, *, description=None, new_name=None) -> dict:
        with self._lock:
            model = self._model(name)
            if new_name:
                raise ApiError(
                    501,
                    "NOT_IMPLEMENTED",
                    "Renaming a registered model is not imitated by the local workspace double.",
                )
            if description is not None:
                model["description"] = description
            model["last_updated_timestamp"] = _now_ms()
            self._save()
            return self._model_json(model)

    def delete_model(self, name: str | None) -> None:
        """Delete the model with all its versions and files, as UC does."""
        with self._lock:
            self._model(name)
            del self._models[name]
            self._save()
            shutil.rmtree(self.files_root / "Models" / Path(*name.split(".")), ignore_errors=True)

    def search_models(self, max_results: int | None, page_token: str | None) -> dict:
        with self._lock:
            rows = [self._model_json(self._models[n]) for n in sorted(self._models)]
        for row in rows:  # UC's search answers carry neither aliases nor tags
            row.pop("aliases")
            row.pop("tags")
        return page(rows, "registered_models", max_results, page_token)

    def set_model_tag(self, name: str | None, key: str, value: str) -> None:
        with self._lock:
            model = self._model(name)
            if not key:
                raise invalid("Tag key must be a non-empty string.")
            model["tags"][key] = value or ""
            model["last_updated_timestamp"] = _now_ms()
            self._save()

    def delete_model_tag(self, name: str | None, key: str) -> None:
        with self._lock:
            model = self._model(name)
            if model["tags"].pop(key, None) is None:
                raise not_found(f"Tag '{key}' does not exist on registered model '{name}'.")
            self._save()

    # ------------------------------------------------------------------ aliases

    def set_alias(self, name: str | None, alias: str, version) -> None:
        with self._lock:
            model = self._model(name)
            record = self._version(name, version)
            model["aliases"][check_alias(alias)] = record["version"]
            model["last_updated_timestamp"] = _now_ms()
            self._save()

    def delete_alias(self, name: str | None, alias: str) -> None:
        with self._lock:
            model = self._model(name)
            if model["aliases"].pop(alias, None) is None:
                raise not_found(f"Alias '{alias}' does not exist on registered model '{name}'.")
            self._save()

    def version_by_alias(self, name: str | None, alias: str) -> dict:
        with self._lock:
            model = self._model(name)
            version = model["aliases"].get(alias)
            if version is None:
                raise not_found(f"Alias '{alias}' does not exist on registered model '{name}'.")
            return self._version_json(model, model["versions"][version])

    # ------------------------------------------------------------------ model versions

    def create_version(self, body: dict, workspace_id: str | None = None) -> dict:
        name = body.get("name")
        with self._lock:
            model = self._model(name)
            if not body.get("source"):
                raise invalid("Model version source must be a non-empty URI.")
            number = str(model["next_version"])
            model["next_version"] += 1
            now = _now_ms()
            record = {
                "name": name,
                "version": number,
                "creation_timestamp": now,
                "last_updated_timestamp": now,
                "user_id": USER,
                "description": body.get("description") or "",
                "source": body["source"],
                "run_id": body.get("run_id") or "",
                "run_tracking_server_id": body.get("run_tracking_server_id") or workspace_id or "",
                "model_id": body.get("model_id") or "",
                "status": PENDING,
                "status_message": "",
                "storage_location": self.version_dir(name, number).as_uri(),
                "tags": {t["key"]: t.get("value", "") for t in body.get("tags") or []},
            }
            model["versions"][number] = record
            model["last_updated_timestamp"] = now
            self._save()
            return self._version_json(model, record)

    def finalize_version(self, name: str | None, version) -> dict:
        with self._lock:
            record = self._version(name, version)
            if record["status"] == PENDING:
                if not (self.version_dir(name, record["version"]) / "MLmodel").is_file():
                    raise invalid(
                        f"Model version {name} version {record['version']} has no MLmodel file: "
                        "upload the model's files before finalizing it."
                    )
                record["status"] = READY
                record["last_updated_timestamp"] = _now_ms()
                self._save()
            return self._version_json(self._models[name], record)

    def get_version(self, name: str | None, version) -> dict:
        with self._lock:
            return self._version_json(self._model(name), self._version(name, version))

    def update_version(self, name: str | None, version, description) -> dict:
        with self._lock:
            record = self._version(name, version)
            if description is not None:
                record["description"] = description
            record["last_updated_timestamp"] = _now_ms()
            self._save()
            return self._version_json(self._models[name], record)

    def delete_version(self, name: str | None, version) -> None:
        with self._lock:
            model = self._model(name)
            record = self._version(name, version)
            del model["versions"][record["version"]]
            model["aliases"] = {a: v for a, v in model["aliases"].items() if v != record["version"]}
            self._save()
            shutil.rmtree(self.version_dir(name, record["version"]), ignore_errors=True)

    def set_version_tag(self, name: str | None, version, key: str, value: str) -> None:
        with self._lock:
            record = self._version(name, version)
            if not key:
                raise invalid("Tag key must be a non-empty string.")
            record["tags"][key] = value or ""
            record["last_updated_timestamp"] = _now_ms()
            self._save()

    def delete_version_tag(self, name: str | None, version, key: str) -> None:
        with self._lock:
            record = self._version(name, version)
            if record["tags"].pop(key, None) is None:
                raise not_found(
                    f"Tag '{key}' does not exist on model version {name} version {version}."
                )
            self._save()

    def search_versions(self, filter_string: str | None, max_results, page_token) -> dict:
        """Versions matching ``name = '<c.s.m>'`` or ``run_id = '<id>'`` (UC's two filters)."""
        key, value = parse_filter(filter_string)
        with self._lock:
            if key == "name":
                models = [self._models[value]] if value in self._models else []
            else:
                models = [self._models[n] for n in sorted(self._models)]
            rows = [
                self._version_json(m, r, full=False)
                for m in models
                for r in sorted(m["versions"].values(), key=lambda r: -int(r["version"]))
                if key == "name" or r["run_id"] == value
            ]
        return page(rows, "model_versions", max_results, page_token)

    def version_status(self, name: str, version: str) -> str | None:
        """The status of a version, or None when it does not exist (for the file routes)."""
        with self._lock:
            record = self._models.get(name, {}).get("versions", {}).get(version)
            return None if record is None else record["status"]
