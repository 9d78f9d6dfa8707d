"""The workspace double's table catalog jar (``recipes.workspace.catalog_jar``): the server's
settings, a jar named by its sources, and a one-line error without javac. Its behaviour on
the double's Spark server: tests/workspace/test_workspace_stack.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from recipes.errors import MissingDependency
from recipes.workspace import catalog_jar


def test_every_catalog_name_is_a_layout_catalog_over_its_warehouse_folder(tmp_path):
    jar = tmp_path / "c.jar"
    conf = catalog_jar.server_conf(tmp_path / "warehouse", ["dev", "main", "dev"], jar)
    assert conf == {
        "spark.jars": str(jar),
        "spark.sql.defaultCatalog": "dev",  # MDK_CATALOG first, as a workspace's default
        "spark.sql.catalog.dev": "mdk.LayoutCatalog",
        "spark.sql.catalog.dev.root": str(tmp_path / "warehouse" / "dev"),
        "spark.sql.catalog.main": "mdk.LayoutCatalog",
        "spark.sql.catalog.main.root": str(tmp_path / "warehouse" / "main"),
    }


def test_the_jar_is_named_by_its_sources(tmp_path, monkeypatch):
    src = tmp_path / "java" / "mdk"
    src.mkdir(parents=True)
    (src / "A.java").write_text("package mdk; class A {}")
    monkeypatch.setattr(catalog_jar, "SOURCES", tmp_path / "java")
    first = catalog_jar.jar_path()
    assert first.parent == Path(catalog_jar.sys.prefix) / "share" / "mdk"
    (src / "A.java").write_text("package mdk; class A { int x; }")
    assert catalog_jar.jar_path() != first  # an edited source makes a new jar


@pytest.mark.spark  # javac is a JVM
def test_compiles_the_sources_into_a_jar_with_the_delta_registration(tmp_path, monkeypatch):
    import zipfile

    monkeypatch.setattr(catalog_jar.sys, "prefix", str(tmp_path))  # a jar of this test's own
    jar = catalog_jar.ensure_jar()
    names = set(zipfile.ZipFile(jar).namelist())
    assert {"mdk/LayoutCatalog.class", "mdk/DeltaAsParquet.class"} <= names
    assert "META-INF/services/org.apache.spark.sql.sources.DataSourceRegister" in names
    assert catalog_jar.ensure_jar() == jar  # made once


def test_without_javac_the_error_names_the_jdk_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(catalog_jar.sys, "prefix", str(tmp_path))
    monkeypatch.setattr(catalog_jar, "java_executable", lambda: None)
    monkeypatch.setattr(catalog_jar.shutil, "which", lambda name: None)
    with pytest.raises(MissingDependency, match="openjdk-17-jdk-headless"):
        catalog_jar.ensure_jar()
