"""Test doubles shared by several test modules."""

from __future__ import annotations

from pathlib import Path

# `java -version` output (stderr) of real JDKs, by the major version it reports.
JAVA_OUTPUTS = {
    17: 'openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment (build 17.0.15+6)\n',
    21: 'openjdk version "21" 2023-09-19\nOpenJDK Runtime Environment (build 21+35-2513)\n',
    11: 'openjdk version "11.0.22" 2024-01-16\nOpenJDK 64-Bit Server VM (build 11.0.22+7)\n',
    8: 'java version "1.8.0_392"\nJava(TM) SE Runtime Environment (build 1.8.0_392-b08)\n',
    25: 'Picked up JAVA_TOOL_OPTIONS: -Xss4m\nopenjdk version "25-ea" 2025-09-16\n',
}


def fake_java_home(root: Path, output: str) -> Path:
    """A JAVA_HOME at ``root`` whose ``bin/java`` prints ``output`` on stderr, like the real one.

    Args:
        root: the folder to make (it must not exist yet); returned as the JAVA_HOME.
        output: what ``java -version`` prints (a trailing newline is added if missing).
    """
    java = root / "bin" / "java"
    java.parent.mkdir(parents=True)
    text = output if output.endswith("\n") else output + "\n"
    java.write_text(f"#!/bin/sh\ncat >&2 <<'EOF'\n{text}EOF\n")
    java.chmod(0o755)
    return root
