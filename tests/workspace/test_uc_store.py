"""The double's registry store and file rules, without servers (UC's rules, persistence)."""

from __future__ import annotations

import pytest

from recipes.errors import ApiError
from recipes.workspace.files import ModelFiles
from recipes.workspace.uc_store import READY, RegistryStore

NAME = "main.mdk.churn_predictor"


def _version(store: RegistryStore, name: str = NAME, *, finalize: bool = True) -> str:
    number = store.create_version({"name": name, "source": "models:/m-1", "run_id": "r1"})[
        "version"
    ]
    folder = store.version_dir(name, number)
    folder.mkdir(parents=True)
    (folder / "MLmodel").write_text("flavors: {}\n")
    if finalize:
        store.finalize_version(name, number)
    return number


@pytest.fixture
def store(tmp_path) -> RegistryStore:
    s = RegistryStore(tmp_path)
    s.create_model(NAME, "churn", [{"key": "team", "value": "ml"}])
    return s


def test_state_survives_a_restart(store, tmp_path):
    number = _version(store)
    store.set_alias(NAME, "champion", number)
    again = RegistryStore(tmp_path)
    assert again.version_by_alias(NAME, "champion")["version"] == "1"
    assert again.get_model(NAME)["tags"] == [{"key": "team", "value": "ml"}]
    assert again.get_version(NAME, 1)["status"] == READY


@pytest.mark.parametrize("name", ["churn", "mdk.churn", "a..b", "a.b.c.d", None])
def test_names_need_three_levels(tmp_path, name):
    with pytest.raises(ApiError) as caught:
        RegistryStore(tmp_path).create_model(name)
    assert (caught.value.status, caught.value.error_code) == (400, "INVALID_PARAMETER_VALUE")
    assert "specify all three levels" in caught.value.message


def test_versions_count_per_model_and_a_duplicate_model_is_409(store):
    assert [_version(store) for _ in range(3)] == ["1", "2", "3"]
    with pytest.raises(ApiError) as caught:
        store.create_model(NAME)
    assert caught.value.error_code == "RESOURCE_ALREADY_EXISTS"


@pytest.mark.parametrize("alias", ["latest", "LATEST", "v2", "V10", "has space", ""])
def test_reserved_and_bad_aliases_are_refused(store, alias):
    _version(store)
    with pytest.raises(ApiError) as caught:
        store.set_alias(NAME, alias, 1)
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"


def test_deleting_a_version_drops_its_aliases_and_files(store):
    first, second = _version(store), _version(store)
    store.set_alias(NAME, "champion", first)
    store.set_alias(NAME, "challenger", second)
    store.delete_version(NAME, first)
    assert [a["alias"] for a in store.get_model(NAME)["aliases"]] == ["challenger"]
    assert not store.version_dir(NAME, first).exists()
    with pytest.raises(ApiError) as caught:
        store.version_by_alias(NAME, "champion")
    assert caught.value.status == 404


def test_search_pages_and_filters(store):
    for _ in range(3):
        _version(store)
    page = store.search_versions(f"name = '{NAME}'", 2, None)
    assert [v["version"] for v in page["model_versions"]] == ["3", "2"]
    rest = store.search_versions(f"name='{NAME}'", 2, page["next_page_token"])
    assert [v["version"] for v in rest["model_versions"]] == ["1"]
    assert "next_page_token" not in rest
    assert len(store.search_versions("run_id = 'r1'", None, None)["model_versions"]) == 3
    assert "aliases" not in page["model_versions"][0]  # as UC: search answers carry no aliases
    assert store.search_versions("name = 'main.mdk.none'", None, None) == {"model_versions": []}
    with pytest.raises(ApiError):
        store.search_versions("tags.team = 'ml'", None, None)


def test_finalize_needs_the_mlmodel_file(store):
    number = store.create_version({"name": NAME, "source": "models:/m-1"})["version"]
    with pytest.raises(ApiError) as caught:
        store.finalize_version(NAME, number)
    assert "no MLmodel" in caught.value.message


def test_files_are_writable_only_while_pending_and_only_under_models(store):
    files = ModelFiles(store)
    pending = _version(store, finalize=False)
    ready = _version(store)
    base = "/Models/main/mdk/churn_predictor"
    assert files.resolve(f"{base}/{pending}/model.pkl", write=True).name == "model.pkl"
    errors = []
    for path, write in [
        (f"{base}/{ready}/model.pkl", True),  # finalized: read-only
        (f"{base}/9/model.pkl", False),  # no such version
        (f"{base}/{ready}/../{pending}/x", True),  # no ..
        ("/Volumes/main/mdk/vol/x", False),  # not a model path
    ]:
        with pytest.raises(ApiError) as caught:
            files.resolve(path, write=write)
        errors.append((caught.value.status, caught.value.error_code))
    assert errors == [
        (403, "PERMISSION_DENIED"),
        (404, "NOT_FOUND"),
        (400, "INVALID_PARAMETER_VALUE"),
        (400, "INVALID_PARAMETER_VALUE"),
    ]


def test_presigned_urls_are_bound_to_operation_path_and_time(store, monkeypatch):
    files = ModelFiles(store)
    number = _version(store)
    path = f"/Models/main/mdk/churn_predictor/{number}/MLmodel"
    url = files.presign("http://127.0.0.1:1/", "read", path)["url"]
    query = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))
    files.check_signature("read", path, query)  # accepted as issued
    for op, other_path, q in [
        ("write", path, query),
        ("read", path.replace("MLmodel", "model.pkl"), query),
        ("read", path, {**query, "expires": str(int(query["expires"]) + 1)}),
    ]:
        with pytest.raises(ApiError):
            files.check_signature(op, other_path, q)
    monkeypatch.setattr("recipes.workspace.files.time.time", lambda: 10.0**10)
    with pytest.raises(ApiError):
        files.check_signature("read", path, query)
