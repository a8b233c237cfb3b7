"""A Jupyter kernel that runs one student's code behind walls.

The kernel is started as ``unshare --net --mount --pid --fork --kill-child --mount-proc
python -m autograder.sandbox [options] -- <kernel command>``. In those fresh namespaces it
has no network (an empty network namespace: only a down loopback), its own view of the
file system and its own process tree, so killing the kernel kills everything it forked.
This module's ``main`` then, still as root inside the namespaces:

- mounts empty tmpfs over the folders it must not read (the nbgrader course with its
  gradebook, the assignment sources, the solutions) and over the world-writable folders
  (``/tmp``, ``/var/tmp``, …), so the only place it can write is its scratch folder;
- sets resource limits: address space (memory), CPU seconds, processes (fork bombs),
  file size, no core dumps;
- drops to an unprivileged user id of its own (so RLIMIT_NPROC applies and other
  students' scratch folders, mode 0700, are out of reach) and execs the kernel.

The kernel talks to the grader over ZeroMQ ``ipc`` sockets in the scratch folder (TCP on
localhost cannot cross network namespaces).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client import AsyncKernelManager

WORLD_WRITABLE = ("/tmp", "/var/tmp", "/run/lock", "/dev/shm")
KERNEL_DIR = ".kernel"  # inside the scratch folder: connection file and ipc sockets


@dataclass(frozen=True)
class Limits:
    """What one submission may use. Times in seconds, sizes in MB."""

    cell_timeout: float = 60.0
    notebook_timeout: float = 600.0
    memory_mb: int = 6144
    cpu_seconds: int = 1200
    max_processes: int = 64
    max_file_mb: int = 64
    max_output_chars: int = 100_000
    network: bool = False
    guard_libraries: bool = True  # restore numpy/torch/builtins … before each test cell
    hide: tuple[str, ...] = field(default_factory=tuple)


def sandbox_uid(seed: int) -> int:
    """An unprivileged user id of its own for each kernel (no /etc/passwd entry needed)."""
    return 200_000 + seed % 100_000


def wrapper_command(limits: Limits, workdir: Path, uid: int) -> list[str]:
    """The command put in front of the kernel's: namespaces, then :func:`main`."""
    namespaces = ["--mount", "--pid", "--fork", "--kill-child", "--mount-proc"]
    if not limits.network:
        namespaces.insert(0, "--net")
    cmd = ["unshare", *namespaces, sys.executable, "-m", "autograder.sandbox",
           "--workdir", str(workdir), "--uid", str(uid),
           "--memory-mb", str(limits.memory_mb), "--cpu-seconds", str(limits.cpu_seconds),
           "--max-processes", str(limits.max_processes), "--max-file-mb", str(limits.max_file_mb)]
    for path in limits.hide:
        cmd += ["--hide", path]
    return [*cmd, "--"]


class SandboxedKernelManager(AsyncKernelManager):
    """A KernelManager whose kernel starts inside :func:`wrapper_command`'s walls."""

    def __init__(self, *, workdir: Path, limits: Limits, uid: int, **kwargs) -> None:
        kernel_dir = Path(workdir) / KERNEL_DIR
        kernel_dir.mkdir(exist_ok=True)
        super().__init__(kernel_name="python3", transport="ipc", ip=str(kernel_dir / "k"),
                         connection_file=str(kernel_dir / "connection.json"), **kwargs)
        self.sandbox_prefix = wrapper_command(limits, Path(workdir), uid)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return [*self.sandbox_prefix, *super().format_kernel_cmd(extra_arguments)]


def kernel_environment(workdir: Path) -> dict[str, str]:
    """The kernel's environment: no instructor secrets, caches in the scratch folder."""
    keep = ("PATH", "LANG", "LC_ALL", "DLCOURSE_DATA", "DLCOURSE_OFFLINE", "PYTHONPATH",
            "JUPYTER_PLATFORM_DIRS")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(HOME=str(workdir), DLCOURSE_CACHE=str(workdir / ".cache"),
               MPLCONFIGDIR=str(workdir / ".cache" / "matplotlib"), TMPDIR=str(workdir / ".tmp"),
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MALLOC_ARENA_MAX="2",
               PYTHONDONTWRITEBYTECODE="1",
               DLCOURSE_OFFLINE="1")
    return env


# --- inside the namespaces ---------------------------------------------------------------
def mount_empty(path: str) -> None:
    """Hide a folder behind an empty, small tmpfs (only in this mount namespace)."""
    if os.path.isdir(path):
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=1777", "tmpfs", path],
                       check=True)


def reachable_by_others(path: Path) -> bool:
    """Can a user other than the owner reach ``path`` (execute bit on every ancestor)?"""
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


def expose_behind_private_home(path: Path, stage: Path) -> None:
    """Make ``path`` (e.g. the Python under root's 0700 home) reachable by the sandbox user:
    hide its top folder behind a 0755 tmpfs and bind the original folder back inside it."""
    top = Path(*path.parts[:2])
    stage.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "--bind", str(path), str(stage)], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(top)],
                   check=True)
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "--move", str(stage), str(path)], check=True)


def set_limits(memory_mb: int, cpu_seconds: int, max_processes: int, max_file_mb: int) -> None:
    def cap(kind: int, value: int) -> None:
        resource.setrlimit(kind, (value, value))

    cap(resource.RLIMIT_AS, memory_mb * 2**20)
    cap(resource.RLIMIT_CPU, cpu_seconds)
    cap(resource.RLIMIT_NPROC, max_processes)
    cap(resource.RLIMIT_FSIZE, max_file_mb * 2**20)
    cap(resource.RLIMIT_CORE, 0)


def hand_over_scratch(workdir: Path, uid: int) -> None:
    """The scratch folder becomes the sandbox user's, and only theirs."""
    for root, dirs, files in os.walk(workdir):
        for name in [*dirs, *files]:
            os.lchown(os.path.join(root, name), uid, uid)
    os.chown(workdir, uid, uid)
    os.chmod(workdir, 0o700)


def kernel_args_with_private_connection_file(args: list[str], workdir: Path) -> list[str]:
    """The connection file (written 0600 by root) copied where the sandbox user can read it."""
    out = list(args)
    for i, arg in enumerate(out[:-1]):
        if arg == "-f":
            private = workdir / KERNEL_DIR / "kernel.json"
            info = json.loads(Path(out[i + 1]).read_text())
            private.write_text(json.dumps(info))
            out[i + 1] = str(private)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="start a kernel behind the sandbox's walls")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--uid", type=int, required=True)
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--cpu-seconds", type=int, required=True)
    parser.add_argument("--max-processes", type=int, required=True)
    parser.add_argument("--max-file-mb", type=int, required=True)
    parser.add_argument("--hide", action="append", default=[])
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    workdir = Path(args.workdir)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    command = kernel_args_with_private_connection_file(command, workdir)
    python_home = Path(sys.base_prefix)
    if not reachable_by_others(python_home):
        expose_behind_private_home(python_home, workdir / KERNEL_DIR / "python")
    for path in [*args.hide, *WORLD_WRITABLE]:
        mount_empty(path)
    (workdir / ".tmp").mkdir(exist_ok=True)
    hand_over_scratch(workdir, args.uid)
    set_limits(args.memory_mb, args.cpu_seconds, args.max_processes, args.max_file_mb)
    os.setgroups([])
    os.setgid(args.uid)
    os.setuid(args.uid)
    os.chdir(workdir)
    executable = shutil.which(command[0]) or command[0]
    os.execv(executable, command)


if __name__ == "__main__":
    main()
