"""One tracking store under two names: the local tracking server's URL and its sqlite path.

``mdk up`` starts ``mlflow server`` over ``sqlite:///$MDK_HOME/mlflow.db`` and the serving
endpoint reading that file, then prints ``export MLFLOW_TRACKING_URI=http://127.0.0.1:<port>``.
The client must take the two for one store (the server's record says which file it serves)
and still refuse a genuinely different one.
"""

from __future__ import annotations

from dataclasses import asdict

import pytest

from recipes import stack
from recipes.errors import KitError
from recipes.jsonfile import write_json
from recipes.serving import client

PORT = 45999
URL = f"http://127.0.0.1:{PORT}"


def _record_tracking_server(home, db, *, url: str = URL) -> None:
    """What ``mdk up`` leaves in ``$MDK_HOME/run/mlflow.json`` for a server over ``db``."""
    port = int(url.rsplit(":", 1)[1])
    cmd = stack.mlflow_command(port, home)
    cmd[cmd.index("--backend-store-uri") + 1] = f"sqlite:///{db}"
    svc = stack.Service("mlflow", 4242, port, url, "2026-01-01T00:00:00+00:00", cmd)
    write_json(home / "run" / "mlflow.json", asdict(svc))
    assert stack.read_record("mlflow", home) == svc  # the record stack itself reads


@pytest.fixture
def home(mdk_home):
    _record_tracking_server(mdk_home, mdk_home / "mlflow.db")
    return mdk_home


def test_the_recorded_servers_url_and_its_sqlite_file_are_one_store(home):
    sqlite = f"sqlite:///{home / 'mlflow.db'}"
    assert client.same_store(sqlite, URL, home=home)
    assert client.same_store(URL, sqlite, home=home)


@pytest.mark.parametrize(
    "spelling",
    [f"{URL}/", f"http://localhost:{PORT}", f"http://[::1]:{PORT}/"],
)
def test_any_loopback_spelling_of_the_recorded_url_is_that_store(home, spelling):
    assert client.same_store(f"sqlite:///{home / 'mlflow.db'}", spelling, home=home)


def test_sqlite_paths_are_compared_resolved(home, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(home)
    db = home / "mlflow.db"
    assert client.same_store(f"sqlite:///{db}", f"sqlite:///{link / 'mlflow.db'}", home=home)
    dotted = home / ".." / home.name / "mlflow.db"
    assert client.same_store(f"sqlite:///{db}", f"sqlite:///{dotted}", home=home)
    # and the recorded server's URL is its file under another spelling too
    assert client.same_store(URL, f"sqlite:///{link / 'mlflow.db'}", home=home)


def test_another_sqlite_file_is_another_store(home, tmp_path):
    other = f"sqlite:///{tmp_path / 'other' / 'mlflow.db'}"
    assert not client.same_store(other, f"sqlite:///{home / 'mlflow.db'}", home=home)
    assert not client.same_store(other, URL, home=home)


@pytest.mark.parametrize(
    "url",
    [
        f"http://127.0.0.1:{PORT + 1}",  # another port: not the recorded server
        f"http://10.1.2.3:{PORT}",  # not this machine
        f"{URL}/prefix",  # a path the recorded server does not serve under
        f"https://127.0.0.1:{PORT}",  # another scheme
    ],
)
def test_a_url_that_is_not_the_recorded_server_is_another_store(home, url):
    assert not client.same_store(url, f"sqlite:///{home / 'mlflow.db'}", home=home)


def test_without_a_record_a_url_is_only_itself(mdk_home):
    sqlite = f"sqlite:///{mdk_home / 'mlflow.db'}"
    assert not client.same_store(URL, sqlite, home=mdk_home)
    assert client.same_store(URL, URL, home=mdk_home)


def test_a_server_recorded_over_another_file_is_that_other_store(mdk_home, tmp_path):
    _record_tracking_server(mdk_home, tmp_path / "elsewhere.db")
    assert not client.same_store(URL, f"sqlite:///{mdk_home / 'mlflow.db'}", home=mdk_home)
    assert client.same_store(URL, f"sqlite:///{tmp_path / 'elsewhere.db'}", home=mdk_home)


def test_the_record_of_another_home_does_not_count(home, tmp_path):
    elsewhere = tmp_path / "another-home"
    (elsewhere / "run").mkdir(parents=True)
    assert not client.same_store(URL, f"sqlite:///{home / 'mlflow.db'}", home=elsewhere)


def test_home_defaults_to_mdk_home(home):
    assert client.same_store(URL, f"sqlite:///{home / 'mlflow.db'}")


# -- the check local_url() makes against the serving endpoint's /health --


def _serving_reads(monkeypatch, uri: str) -> None:
    monkeypatch.setattr(client, "served_tracking_uri", lambda url: uri)


def test_the_session_on_the_servers_url_is_accepted(home, monkeypatch):
    _serving_reads(monkeypatch, f"sqlite:///{home / 'mlflow.db'}")  # how `mdk up` starts it
    monkeypatch.setenv("MLFLOW_TRACKING_URI", URL)  # what `mdk up` says to export
    client._check_same_store("http://127.0.0.1:1")


def test_a_serving_endpoint_started_on_the_url_accepts_the_sqlite_session(home, monkeypatch):
    _serving_reads(monkeypatch, URL)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{home / 'mlflow.db'}")
    client._check_same_store("http://127.0.0.1:1")


def test_another_store_is_refused_in_one_line(home, monkeypatch, tmp_path):
    served = f"sqlite:///{tmp_path / 'other.db'}"
    _serving_reads(monkeypatch, served)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", URL)
    with pytest.raises(KitError) as err:
        client._check_same_store("http://127.0.0.1:1")
    message = str(err.value)
    assert "\n" not in message
    assert message == (
        f"The serving endpoint at http://127.0.0.1:1 reads models from {served}, but this "
        f"session registers them in {URL}: run `mdk down` and retry, or set "
        f"MLFLOW_TRACKING_URI={served}."
    )


def test_a_url_of_an_unrecorded_server_is_refused(home, monkeypatch):
    _serving_reads(monkeypatch, f"sqlite:///{home / 'mlflow.db'}")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{PORT + 1}")
    with pytest.raises(KitError, match="reads models from sqlite:///"):
        client._check_same_store("http://127.0.0.1:1")


def test_a_silent_serving_endpoint_is_not_refused_here(home, monkeypatch):
    _serving_reads(monkeypatch, None)  # not answering yet: the SDK's retries report it
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{PORT + 1}")
    client._check_same_store("http://127.0.0.1:1")
