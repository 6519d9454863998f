#!/usr/bin/env python3
"""Checks that the README's Layout section names every folder it should.

Every top-level folder of the tree, and every folder one level inside the
ones whose parts a newcomer looks for (bindings/, examples/, tests/, web/,
docs/), must be named in the fenced block under '## Layout'. Folders are
read from git (tracked files only), so build output never counts.

    scripts/check-readme-layout.py [ROOT]     exit 1 and a list when one is missing
"""
import pathlib
import re
import subprocess
import sys

NAMED_INSIDE = ("bindings", "examples", "tests", "web", "docs")


def layout_block(readme: str) -> str:
    match = re.search(r"^## Layout\n+```\n(.*?)^```", readme, re.S | re.M)
    if not match:
        sys.exit("README.md has no fenced block under '## Layout'")
    return match.group(1)


def tracked_folders(root: pathlib.Path) -> set[str]:
    files = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True,
                           check=True).stdout.split("\n")
    folders = set()
    for path in filter(None, files):
        parts = path.split("/")[:-1]
        if parts and not parts[0].startswith("."):
            folders.add(parts[0])
            if parts[0] in NAMED_INSIDE and len(parts) > 1:
                folders.add(f"{parts[0]}/{parts[1]}")
    return folders


def entries(block: str) -> dict[str, str]:
    """Each top-level entry's text: from its 'name/' line to the next entry."""
    found = {}
    for entry in re.split(r"^(?=\S)", block, flags=re.M):
        match = re.match(r"([\w.-]+)/", entry)
        if match:
            found[match.group(1)] = found.get(match.group(1), "") + entry
    return found


def is_named(folder: str, by_entry: dict[str, str]) -> bool:
    if "/" not in folder:
        return folder in by_entry
    parent, child = folder.split("/")
    # Inside its parent's entry a folder may be named bare ("e2e") or whole.
    text = by_entry.get(parent, "")
    return re.search(rf"(?<![\w.-]){re.escape(child)}(?![\w-])", text) is not None


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    block = layout_block((root / "README.md").read_text())
    by_entry = entries(block)
    missing = sorted(f for f in tracked_folders(root) if not is_named(f, by_entry))
    for folder in missing:
        print(f"README.md's Layout section does not name {folder}/", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
