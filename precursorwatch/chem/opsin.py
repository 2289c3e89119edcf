"""Systematic (IUPAC) names to structures with OPSIN, one Java process per batch.

Starting the JVM costs far more than parsing a name, so every name of a batch goes to one call.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from importlib.resources import files

_JAR_NAME = "opsin-cli-2.9.0-jar-with-dependencies.jar"


class OpsinUnavailable(RuntimeError):
    """Java or the OPSIN jar is missing; names can then only resolve through the synonym index."""


def _jar_path() -> str:
    jar = files("py2opsin") / _JAR_NAME
    return str(jar)


def java_available() -> bool:
    return shutil.which("java") is not None


def names_to_smiles(names: Sequence[str], *, timeout: float = 120.0) -> list[str | None]:
    """SMILES for each name in order, None where OPSIN cannot parse it.

    Names are written one per line to a private temporary file; newlines inside a name would
    shift every later answer, so they are replaced by spaces first.
    """
    if not names:
        return []
    if not java_available():
        raise OpsinUnavailable("Java is not installed: systematic names cannot be parsed (OPSIN)")
    clean = [" ".join(n.split()) or "-" for n in names]
    fd, path = tempfile.mkstemp(prefix="pwatch-opsin-", suffix=".txt")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(clean) + "\n")
        proc = subprocess.run(
            ["java", "-Djava.awt.headless=true", "-jar", _jar_path(), "-osmi", path],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    finally:
        os.unlink(path)
    if proc.returncode != 0 and not proc.stdout:
        raise OpsinUnavailable(
            f"OPSIN failed (exit {proc.returncode}): {proc.stderr.decode(errors='replace')[:200]}"
        )
    lines = proc.stdout.decode("utf-8", errors="replace").split("\n")
    # OPSIN prints one line per input line, empty where the name was not understood.
    out: list[str | None] = [(ln.strip() or None) for ln in lines[: len(clean)]]
    out.extend([None] * (len(clean) - len(out)))
    return out
