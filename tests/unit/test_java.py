"""recipes.java: parsing ``java -version``, finding java, and refusing a missing or old one."""

from __future__ import annotations

from pathlib import Path

import pytest

from recipes.errors import KitError, MissingDependency
from recipes.java import java_executable, parse_java_version, require_java
from tests.fakes import JAVA_OUTPUTS, fake_java_home


@pytest.mark.parametrize(
    ("text", "major"),
    [
        *((text, major) for major, text in JAVA_OUTPUTS.items()),
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment', 17),
        ('java version "1.8.0_392"\nJava(TM) SE Runtime Environment', 8),
        ('openjdk version "21" 2023-09-19', 21),
        ('openjdk version "25-ea" 2025-09-16', 25),
        ('openjdk version "11.0.2" 2019-01-15', 11),
        ("bash: java: command not found", None),
    ],
)
def test_parse_java_version(text, major):
    assert parse_java_version(text) == major


def test_java_executable_prefers_java_home(tmp_path, monkeypatch):
    home = fake_java_home(tmp_path / "jdk", JAVA_OUTPUTS[17])
    monkeypatch.setenv("JAVA_HOME", str(home))
    assert java_executable() == str(home / "bin" / "java")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    assert java_executable() is None  # never falls back to PATH when JAVA_HOME is set


def test_this_machine_has_java_17_or_later():
    path, major = require_java()
    assert major >= 17 and Path(path).exists()


def test_java_missing_or_too_old(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(MissingDependency) as err:
        require_java()
    assert "JAVA_HOME" in str(err.value) and "openjdk-17-jdk-headless" in str(err.value)

    monkeypatch.setenv("JAVA_HOME", str(fake_java_home(tmp_path / "jdk8", JAVA_OUTPUTS[8])))
    with pytest.raises(KitError, match=r"is Java 8: .*openjdk-17-jdk-headless"):
        require_java()

    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(MissingDependency, match="no `java` is on PATH"):
        require_java()


def test_java_whose_version_cannot_be_read(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(fake_java_home(tmp_path / "odd", "no version here")))
    with pytest.raises(KitError, match=r"Could not read the version of .*\(no version here\)"):
        require_java()
    broken = tmp_path / "broken"
    (broken / "bin").mkdir(parents=True)
    (broken / "bin" / "java").write_text("not executable")
    monkeypatch.setenv("JAVA_HOME", str(broken))
    with pytest.raises(KitError, match=r"Could not read the version of .*Permission denied"):
        require_java()


def test_mdk_jvm_options_are_checked_by_java_and_named_in_one_line(monkeypatch):
    from recipes.errors import ParameterError
    from recipes.java import extra_jvm_options

    monkeypatch.delenv("MDK_JVM_OPTIONS", raising=False)
    assert extra_jvm_options() == ""
    monkeypatch.setenv("MDK_JVM_OPTIONS", "  -XX:TieredStopAtLevel=1 -Xmx512m ")
    assert extra_jvm_options() == "-XX:TieredStopAtLevel=1 -Xmx512m"
    monkeypatch.setenv("MDK_JVM_OPTIONS", "-XX:NoSuchFlagHere=1")
    with pytest.raises(ParameterError) as err:
        extra_jvm_options()
    message = str(err.value)
    assert "\n" not in message and message.startswith("MDK_JVM_OPTIONS='-XX:NoSuchFlagHere=1'")
    assert "NoSuchFlagHere" in message.split(":", 1)[1] and "unset it" in message


def test_mdk_jvm_options_come_last_in_both_spark_jvms(tmp_path, monkeypatch):
    from recipes.jvm_archive import spark_java_options
    from recipes.spark import classic_conf

    monkeypatch.setenv("MDK_JVM_OPTIONS", "-Xmx777m")
    options = classic_conf(home=tmp_path)["spark.driver.extraJavaOptions"].split()
    assert options[-1] == "-Xmx777m" and "-XX:+UseParallelGC" in options
    assert f"-Dderby.system.home={tmp_path / 'derby'}" in options
    # the Spark Connect server's options (spark_connect.server_command) come from the same function
    connect = spark_java_options(tmp_path / "connect-derby").split()
    assert connect[0] == "-XX:+UseParallelGC" and connect[-1] == "-Xmx777m"
    assert f"-Dderby.system.home={tmp_path / 'connect-derby'}" in connect
