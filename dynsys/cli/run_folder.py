"""The output folder of one command run: locked while the run writes, filled in a staging folder
next to it, and published whole, so that a folder never mixes the files of two runs.

- A run takes the lock ``.<name>.lock`` beside the folder (created exclusively; it names the
  process). A second run on the same folder is refused while the first is alive; a lock left by
  a process that no longer exists is taken over.
- Files are written into ``.<name>.staging-<run id>``; when the run succeeds it gets a manifest
  (``dynsys-run.json``: run id, command, spec, time, files) and replaces the folder with two
  renames (the old folder is moved aside first and deleted last; a run interrupted between the
  two renames is repaired by the next run on the folder).
- A run that fails or is interrupted publishes nothing: the folder keeps the previous run, and
  what was finished stays in ``<name>.incomplete-<run id>``.
- A folder that exists, is not empty and holds no manifest is not dynsys's: it is never replaced.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from ..errors import SpecError

__all__ = ["MANIFEST", "RunFolder"]

MANIFEST = "dynsys-run.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunFolder:
    """Context manager around one run writing into ``target`` (see the module docstring).

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out"
    >>> with RunFolder(target, command="analyze", spec="a.toml") as run:
    ...     _ = (run.path / "result.txt").write_text("done")
    >>> sorted(p.name for p in target.iterdir())
    ['dynsys-run.json', 'result.txt']
    """

    def __init__(self, target: Path, *, command: str, spec: str) -> None:
        self.target = Path(target)
        self.command = command
        self.spec = spec
        self.run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
        parent, name = self.target.parent, self.target.name
        self.lock = parent / f".{name}.lock"
        self.path = parent / f".{name}.staging-{self.run_id}"
        self.incomplete = parent / f"{name}.incomplete-{self.run_id}"
        self.kept: Path | None = None

    # ------------------------------------------------------------------ checks
    def check(self) -> None:
        """Refuse a target that is a file, or a non-empty folder that no dynsys run wrote."""
        target = self.target
        existing = next(p for p in (target, *target.parents) if p.exists())
        problem = ""
        if not existing.is_dir():
            problem = f"{str(existing)!r} is a file, not a folder"
        elif not os.access(existing, os.W_OK | os.X_OK):
            problem = f"no permission to write in {str(existing)!r}"
        elif target.is_dir() and any(target.iterdir()) and not (target / MANIFEST).is_file():
            problem = (
                f"{str(target)!r} holds files that no dynsys run wrote (no {MANIFEST}); a run "
                "replaces its whole output folder, so give a new or empty folder"
            )
        if problem:
            raise SpecError(
                f"cannot use {str(target)!r} as the output folder (--out or output.dir): {problem}."
            )

    def _take_lock(self) -> None:
        record = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "run": self.run_id})
        for _ in range(2):
            try:
                fd = os.open(self.lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    held = json.loads(self.lock.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    held = {}
                same_host = held.get("host") == socket.gethostname()
                pid = held.get("pid")
                if isinstance(pid, int) and (not same_host or _alive(pid)):
                    raise SpecError(
                        f"the output folder {str(self.target)!r} is in use by run "
                        f"{held.get('run')} (process {pid} on {held.get('host')}); wait for it "
                        f"to finish, or give another --out (the lock is {str(self.lock)!r})."
                    ) from None
                self.lock.unlink(missing_ok=True)  # left by a process that is gone
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(record)
            return
        raise SpecError(f"could not take the lock {str(self.lock)!r}; remove it if no run uses it.")

    def _repair(self) -> None:
        """Finish a publication interrupted between its two renames."""
        if self.target.exists():
            return
        old = sorted(self.target.parent.glob(f".{self.target.name}.old-*"))
        if old:
            old[-1].rename(self.target)

    # ------------------------------------------------------------------ the run
    def __enter__(self) -> Self:
        self.check()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        try:
            self._repair()
            self.path.mkdir()
        except BaseException:
            self.lock.unlink(missing_ok=True)
            raise
        return self

    def _manifest(self, complete: bool) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "command": self.command,
            "spec": self.spec,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "complete": complete,
            "files": sorted(p.name for p in self.path.iterdir() if p.name != MANIFEST),
        }

    def _publish(self) -> None:
        (self.path / MANIFEST).write_text(json.dumps(self._manifest(True), indent=1))
        old = None
        if self.target.exists():
            old = self.target.parent / f".{self.target.name}.old-{self.run_id}"
            self.target.rename(old)
        self.path.rename(self.target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def __exit__(self, kind, exc, tb) -> None:
        try:
            if kind is None:
                self._publish()
            elif any(self.path.iterdir()):
                (self.path / MANIFEST).write_text(json.dumps(self._manifest(False), indent=1))
                self.path.rename(self.incomplete)
                self.kept = self.incomplete
            else:
                self.path.rmdir()
        finally:
            self.lock.unlink(missing_ok=True)

    def final(self, path: Path) -> Path:
        """Where a file written into the staging folder is after a successful run."""
        return self.target / Path(path).relative_to(self.path)
