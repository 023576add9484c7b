"""The repository needs nothing beside it: no test, source, benchmark, ``run.py`` or CI file
refers to a path outside the checkout (another folder next to it, one machine's home or work
folder). The files the tests check against are vendored under ``tests/reference/``."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
THIS = Path(__file__).resolve()

#: Folders and files whose text is checked.
CHECKED = [
    "src",
    "tests",
    "benchmarks",
    ".ci",
    "run.py",
    "pyproject.toml",
    ".pre-commit-config.yaml",
    ".pre-commit-hooks.yaml",
]
SKIPPED_DIRS = {
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "node_modules",
    ".venv",
}

#: Text that names a place outside the checkout, each with what it stands for. System paths
#: every machine has (``/usr/bin/chromium``, ``/etc/passwd`` in the security tests, ``/tmp``)
#: are not in the list.
OUTSIDE = {
    "a machine's work folder": re.compile(r"(?<![\w.-])/work/"),
    "a home folder": re.compile(r"(?<![\w.:/-])/(?:home|root|Users)/\w"),
    "a mounted volume": re.compile(r"(?<![\w.:/-])/mnt/\w"),
    "the user's home": re.compile(r"""["']~/|Path\.home\(\)|expanduser\("""),
    "a folder beside the checkout": re.compile(r"\.\./shared\b"),
    "the parent of the repository root": re.compile(r"\b(?:ROOT|REPO|REPOSITORY)\.parent\b"),
    "a folder named shared beside the checkout": re.compile(r"""["']shared["']\s*/"""),
}

#: In Python and shell files (run from the repository root), any path that starts by going up.
GOING_UP = re.compile(r"""["'](?:\.\./|\.\.["'])""")
SCRIPTS = {".py", ".sh", ""}

#: ``Path(__file__)`` walked up with ``.parent`` / ``.parents[n]``, optionally via a name.
FILE_PATH = re.compile(
    r"(?:(?P<name>\b[A-Za-z_]\w*)\s*=\s*)?Path\(__file__\)(?:\.resolve\(\))?"
    r"(?P<up>(?:\.parent\b)*)(?:\.parents\[(?P<n>\d+)\])?"
)
NAME_UP = r"\b{name}(?P<up>(?:\.parent\b)+)|\b{name}\.parents\[(?P<n>\d+)\]"


def checked_files() -> list[Path]:
    """Return the files to check: in a git checkout, those git does not ignore."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *CHECKED],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if listed.returncode == 0 and listed.stdout:
        paths = [ROOT / name for name in listed.stdout.decode().split("\0") if name]
    else:  # not a git checkout (an unpacked source archive): every file but caches
        paths = [ROOT / entry for entry in CHECKED if (ROOT / entry).is_file()]
        paths += [
            p
            for entry in CHECKED
            if (ROOT / entry).is_dir()
            for p in sorted((ROOT / entry).rglob("*"))
        ]
    return [
        p for p in paths if p.is_file() and not SKIPPED_DIRS.intersection(p.relative_to(ROOT).parts)
    ]


def text_of(path: Path) -> str | None:
    """Return the file's text, or None for a binary file."""
    data = path.read_bytes()
    if b"\0" in data:
        return None
    return data.decode("utf-8", errors="replace")


def _levels(up: str | None, n: str | None) -> int:
    return (up or "").count(".parent") + (int(n) + 1 if n is not None else 0)


def escaping_file_paths(path: Path, text: str) -> list[str]:
    """Return the ``Path(__file__)`` walks in ``text`` that end above the repository root."""
    depth = len(path.relative_to(ROOT).parts) - 1  # levels from the file's folder to ROOT
    found = []
    for match in FILE_PATH.finditer(text):
        level = _levels(match.group("up"), match.group("n"))
        if level - 1 > depth:
            found.append(match.group(0))
        name = match.group("name")
        if name:
            for use in re.finditer(NAME_UP.format(name=re.escape(name)), text):
                if level - 1 + _levels(use.group("up"), use.group("n")) > depth:
                    found.append(use.group(0))
    return found


def problems_in(path: Path, text: str) -> list[str]:
    """Return every reference to a path outside the repository in one file, with its line."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for what, pattern in OUTSIDE.items():
            if pattern.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {what}: {line.strip()}")
        if path.suffix in SCRIPTS and GOING_UP.search(line):
            found.append(
                f"{path.relative_to(ROOT)}:{number}: a path above the repository root: "
                f"{line.strip()}"
            )
    if path.suffix == ".py":
        found += [
            f"{path.relative_to(ROOT)}: walks above the repository: {walk}"
            for walk in escaping_file_paths(path, text)
        ]
    return found


def test_the_check_covers_the_code() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in checked_files()}
    for expected in (
        "run.py",
        ".ci/run",
        "src/aigraph/cli/__init__.py",
        "tests/conftest.py",
        "tests/test_data.py",
        "benchmarks/common.py",
    ):
        assert expected in names


def test_nothing_refers_to_a_path_outside_the_repository() -> None:
    found = []
    for path in checked_files():
        text = text_of(path)
        # This file spells the patterns out as examples; the tests below check the checker.
        if text is not None and path != THIS:
            found += problems_in(path, text)
    assert not found, "\n".join(found)


def test_the_reference_files_are_there_with_their_sources() -> None:
    source = (ROOT / "tests" / "SOURCE.md").read_text(encoding="utf-8")
    files = sorted((ROOT / "tests" / "reference").rglob("*.*"))
    assert files
    for path in files:
        folder = path.parent.relative_to(ROOT / "tests").as_posix()
        assert folder in source, f"{path} is not described in tests/SOURCE.md"


# The check itself: each kind of outside reference is caught, and ordinary code is not. The
# bad lines are assembled here from their parts, so that this file itself names no outside path.
_SIBLING, _UP, _MACHINE = "sha" + "red", "." + ".", "/" + "work"
CAUGHT = [
    f'MANIFEST = Path("{_MACHINE}/{_SIBLING}/reference/manifest.ttl")',
    f"SEED = ROOT.parent / '{_SIBLING}' / 'seeds' / 'a.txt'",
    f'data = open("{_UP}/{_SIBLING}/seeds/a.txt")',
    f'base = ROOT / "{_UP}" / "other"',
    'cache = Path("/home/alice/aigraph-cache")',
    'cache = Path("~/aigraph")',
    "cache = Path.home() / 'x'",
    f'x = ROOT / "{_SIBLING}" / "reference"',
]
ALLOWED = [
    "ROOT = Path(__file__).resolve().parent.parent",
    'options.binary_location = "/usr/bin/chromium"',
    'iri = "http://example.org/home/page"',
    'query = "SELECT * FROM <file:///etc/passwd> { ?s ?p ?o }"',
    'path = tmp_path / "shared.ttl"',
]


@pytest.mark.parametrize("line", CAUGHT)
def test_an_outside_path_is_caught(line: str) -> None:
    assert problems_in(ROOT / "tests" / "example.py", line + "\n")


@pytest.mark.parametrize("line", ALLOWED)
def test_ordinary_code_is_not_flagged(line: str) -> None:
    assert not problems_in(ROOT / "tests" / "example.py", line + "\n")


@pytest.mark.parametrize(
    ("where", "code", "escapes"),
    [
        ("tests/x.py", "ROOT = Path(__file__).resolve().parent.parent", False),
        ("tests/x.py", "ROOT = Path(__file__).resolve().parents[2]", True),
        ("tests/x.py", "ROOT = Path(__file__).resolve().parent.parent.parent", True),
        (
            "src/aigraph/x.py",
            "HERE = Path(__file__).resolve().parent\nTOP = HERE.parent.parent",
            False,
        ),
        ("src/aigraph/x.py", "HERE = Path(__file__).resolve().parent\nUP = HERE.parents[2]", True),
    ],
)
def test_walks_above_the_root_are_caught(where: str, code: str, escapes: bool) -> None:
    assert bool(escaping_file_paths(ROOT / where, code)) is escapes
