"""Base images for the compose smoke test, made from Debian's packages without a registry.

No image registry can be reached where the tests run, so ``python:3.11-slim``, ``postgres:16``
and Mailpit cannot be pulled. debootstrap builds Debian bookworm root file systems instead, from
the mirror apt already uses, and ``docker import`` turns each into an image:

* ``python``: Python 3.11 with its venv module and nothing else (no compiler): the Dockerfile's
  ``BASE_IMAGE`` for both of its stages;
* ``services``: PostgreSQL 15 behind the official postgres image's interface
  (``postgres-entrypoint.sh``: ``POSTGRES_*`` variables, ``$PGDATA``, port 5432) as the default
  command, and aiosmtpd for the mail catcher.

An image's tag is a hash of its recipe (suite, packages, files, settings), so a machine builds
each once and again only when the recipe changes; Docker keeps them between runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
HERE = Path(__file__).resolve().parent
#: What every image's PATH is: ``docker import`` sets none, and the Dockerfile extends it.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
POSTGRES_BIN = "/usr/lib/postgresql/15/bin"
DEBOOTSTRAP_TIMEOUT_S = 900


@dataclass(frozen=True)
class Recipe:
    """How one base image is made: packages on top of a minimal bookworm, then files and
    directories added, paths removed, and the image settings ``docker import`` applies."""

    name: str
    packages: tuple[str, ...]
    changes: tuple[str, ...]
    files: dict[str, Path] = field(default_factory=dict)  # path in the image -> file here
    postgres_dirs: tuple[tuple[str, int], ...] = ()  # (path, mode) owned by the postgres user
    remove: tuple[str, ...] = ()

    def tag(self) -> str:
        """``treaty-tracker-smoke/NAME:bookworm-HASH``, the hash over everything above."""
        recipe = {
            "suite": SUITE,
            "packages": self.packages,
            "changes": self.changes,
            "files": {k: hashlib.sha256(v.read_bytes()).hexdigest() for k, v in self.files.items()},
            "postgres_dirs": self.postgres_dirs,
            "remove": self.remove,
            "trim": TRIM,
        }
        digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()
        return f"treaty-tracker-smoke/{self.name}:{SUITE}-{digest[:12]}"


# Package caches, lists and documentation: not needed to run anything, a third of the size.
TRIM = ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man")

PYTHON = Recipe(
    name="python",
    packages=("python3.11", "python3-venv"),
    changes=(f"ENV PATH={SYSTEM_PATH}", "ENV LANG=C.UTF-8", 'CMD ["python3"]'),
)

SERVICES = Recipe(
    name="services",
    packages=("postgresql-15", "python3-aiosmtpd"),
    changes=(
        f"ENV PATH={POSTGRES_BIN}:{SYSTEM_PATH}",
        "ENV LANG=C.UTF-8",
        "ENV PGDATA=/var/lib/postgresql/data",
        "USER postgres",
        "EXPOSE 5432",
        'CMD ["postgres-entrypoint"]',
    ),
    files={"usr/local/bin/postgres-entrypoint": HERE / "postgres-entrypoint.sh"},
    # A new named volume takes the owner and mode of the image's directory it is mounted on.
    postgres_dirs=(("var/lib/postgresql/data", 0o700), ("run/postgresql", 0o2775)),
    # The cluster the package's postinst made; the entrypoint makes its own in $PGDATA.
    remove=("var/lib/postgresql/15", "etc/postgresql/15"),
)

RECIPES = (PYTHON, SERVICES)


def apt_mirror(apt_dir: Path = Path("/etc/apt")) -> str:
    """The Debian mirror apt uses here for the main suite (not the security archive), from the
    deb822 ``*.sources`` files or one-line ``sources.list`` entries; Debian's default if none."""
    candidates: list[str] = []
    for path in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        for stanza in path.read_text().split("\n\n"):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if ":" in line and not line.startswith(("#", " ")):
                    key, value = line.split(":", 1)
                    fields[key.strip().lower()] = value.strip()
            if SUITE in fields.get("suites", "").split() and "deb" in fields.get("types", ""):
                candidates.extend(fields.get("uris", "").split())
    lists = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]
    for path in lists:
        if path.is_file():
            for line in path.read_text().splitlines():
                words = [w for w in line.split() if not w.startswith("[")]
                if len(words) >= 3 and words[0] == "deb" and words[2] == SUITE:
                    candidates.append(words[1])
    for uri in candidates:
        if uri.startswith(("http://", "https://")) and "security" not in uri:
            return uri.rstrip("/")
    return DEFAULT_MIRROR


def image_exists(tag: str) -> bool:
    result = subprocess.run(
        ["docker", "image", "inspect", tag], capture_output=True, text=True, check=False
    )
    return result.returncode == 0


def why_cannot_build() -> str | None:
    """Why this process cannot make the base images (None when it can)."""
    if os.geteuid() != 0:
        return "making the base images with debootstrap needs root"
    if shutil.which("debootstrap") is None:
        return "debootstrap is not installed (Debian's debootstrap package; .ci/run installs it)"
    return None


def build(recipe: Recipe, *, workdir: Path, deb_cache: Path, mirror: str) -> str:
    """Make the image of ``recipe`` under its tag and return the tag; the root file system is
    built in ``workdir`` and removed afterwards."""
    tag = recipe.tag()
    root = workdir / recipe.name
    log = workdir / f"debootstrap-{recipe.name}.log"
    deb_cache.mkdir(parents=True, exist_ok=True)
    try:
        with log.open("w") as out:
            done = subprocess.run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--include={','.join(recipe.packages)}",
                    f"--cache-dir={deb_cache}",
                    SUITE,
                    str(root),
                    mirror,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=DEBOOTSTRAP_TIMEOUT_S,
                check=False,
            )
        if done.returncode != 0:
            tail = "\n".join(log.read_text().splitlines()[-20:])
            raise RuntimeError(
                f"debootstrap of the {recipe.name} image from {mirror} failed "
                f"(exit {done.returncode}); the end of {log}:\n{tail}"
            )
        _finish(recipe, root)
        tar = subprocess.Popen(
            ["tar", "--numeric-owner", "-C", str(root), "-c", "."], stdout=subprocess.PIPE
        )
        args = ["docker", "import"]
        for change in recipe.changes:
            args += ["--change", change]
        imported = subprocess.run(
            [*args, "-", tag], stdin=tar.stdout, capture_output=True, text=True, check=False
        )
        assert tar.stdout is not None
        tar.stdout.close()
        if tar.wait() != 0 or imported.returncode != 0:
            raise RuntimeError(f"docker import of {tag} failed: {imported.stderr.strip()}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return tag


def _finish(recipe: Recipe, root: Path) -> None:
    for path in (*TRIM, *recipe.remove):
        target = root / path
        if target.is_dir():
            shutil.rmtree(target)
            if path in TRIM:
                target.mkdir()
    for inside, source in recipe.files.items():
        target = root / inside
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        target.chmod(0o755)
    if recipe.postgres_dirs:
        uid, gid = _user_ids(root, "postgres")
        for inside, mode in recipe.postgres_dirs:
            target = root / inside
            target.mkdir(parents=True, exist_ok=True)
            os.chown(target, uid, gid)
            target.chmod(mode)


def _user_ids(root: Path, user: str) -> tuple[int, int]:
    """A user's uid and gid in the root file system (not on this host)."""
    for line in (root / "etc/passwd").read_text().splitlines():
        name, _pw, uid, gid, *_rest = line.split(":")
        if name == user:
            return int(uid), int(gid)
    raise RuntimeError(f"no user {user!r} in {root}/etc/passwd")
