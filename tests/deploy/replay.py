"""Replaying the Docker image and the compose services on this machine, from the files themselves.

The Dockerfile's instructions and docker-compose.yml's commands and environment are read, not copied:
whatever they say is what runs here.
"""

import fnmatch
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# RUN steps that manage the image's OS account: they need a container of their own.
ACCOUNT_STEPS = ("useradd",)


def dockerfile_instructions(path=ROOT / "Dockerfile"):
    """[(INSTRUCTION, arguments)] with continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    for line in path.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if pending and line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).strip().partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def dockerignore_patterns(path=ROOT / ".dockerignore"):
    patterns = [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "exceptions in .dockerignore are not replayed"
    return [p.strip("/") for p in patterns]


def _ignored(relative, patterns):
    name = relative.rsplit("/", 1)[-1]
    for pattern in patterns:
        if pattern.startswith("**/"):
            if fnmatch.fnmatch(name, pattern[3:]) or fnmatch.fnmatch(relative, pattern[3:]):
                return True
        elif fnmatch.fnmatch(relative, pattern):
            return True
    return False


def copy_context(source, destination, patterns):
    """COPY with the build context as .dockerignore leaves it."""
    source = Path(source)

    def ignore(directory, names):
        base = Path(directory).relative_to(ROOT).as_posix()
        return {n for n in names if _ignored(n if base == "." else f"{base}/{n}", patterns)}

    if source.is_dir():
        shutil.copytree(source, destination, ignore=ignore, dirs_exist_ok=True, symlinks=True)
    else:
        destination = Path(destination)
        shutil.copy2(source, destination / source.name if destination.is_dir() else destination)


def make_venv(directory):
    """A virtualenv whose packages are this interpreter's: the image's `pip install` finds them installed."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(directory)], check=True)
    python = directory / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    sites = [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    # Plain paths, not the sites' own .pth files: the project is imported from the copied tree only.
    (Path(purelib) / "_base_environment.pth").write_text("\n".join(sites) + "\n")
    write_console_script(directory, "pip")
    return python


def write_console_script(venv, name):
    """The launcher pip writes into bin/ for a distribution's console script, for this venv's python."""
    target = venv / "bin" / name
    if target.exists():
        return
    (entry,) = entry_points(group="console_scripts", name=name)
    module, _, attribute = entry.value.partition(":")
    target.write_text(textwrap.dedent(f"""\
        #!{venv / 'bin' / 'python'}
        import sys
        from {module} import {attribute.split('.')[0]}
        sys.exit({attribute}())
    """))
    target.chmod(0o755)


def build_image(tmp, log):
    """Replay the Dockerfile: ENV, WORKDIR, COPY and RUN in order, the image's / under `tmp`.

    Returns the app directory, the venv and the image's environment (ENV, with its paths under `tmp`).
    """
    venv = tmp / "venv"
    make_venv(venv)
    patterns = dockerignore_patterns()
    image_env, workdir, replayed = {}, None, []
    base_env = {
        "PATH": f"{venv / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp),
        "LANG": "C.UTF-8",
        # Nothing is downloaded: the build uses the setuptools and dependencies this machine has installed.
        "PIP_NO_INDEX": "1",
        "PIP_NO_BUILD_ISOLATION": "0",
    }

    def inside(path):
        return tmp / path.lstrip("/") if path.startswith("/") else (workdir or tmp) / path

    instructions = dockerfile_instructions()
    (image_workdir,) = [arguments for keyword, arguments in instructions if keyword == "WORKDIR"]
    for keyword, arguments in instructions:
        if keyword == "ENV":
            for pair in shlex.split(arguments):
                key, _, value = pair.partition("=")
                image_env[key] = value
        elif keyword == "WORKDIR":
            workdir = inside(arguments)
            workdir.mkdir(parents=True, exist_ok=True)
        elif keyword == "COPY":
            *sources, destination = [a for a in shlex.split(arguments) if not a.startswith("--")]
            for source in sources:
                copy_context(ROOT / source, inside(destination), patterns)
        elif keyword == "RUN":
            if shlex.split(arguments)[0] in ACCOUNT_STEPS:
                continue
            environ = {**base_env, **map_paths(image_env, image_workdir, tmp)}
            log.write(f"$ {arguments}\n".encode())
            log.flush()
            result = subprocess.run(["/bin/sh", "-c", arguments], cwd=workdir, env=environ, stdout=log,
                                    stderr=subprocess.STDOUT, timeout=120)
            assert result.returncode == 0, f"the image's step failed ({result.returncode}): RUN {arguments}"
            replayed.append(arguments)
    assert any("pip install" in step for step in replayed) and any("collectstatic" in step for step in replayed)
    return workdir, venv, {**base_env, **map_paths(image_env, image_workdir, tmp)}


def map_paths(environ, image_workdir, tmp):
    """Paths in the image's WORKDIR (STATIC_ROOT...) are under `tmp` here."""
    pattern = re.compile(rf"(?<![\w/]){re.escape(image_workdir)}(?=/|$|:)")
    return {key: pattern.sub(str(tmp / image_workdir.lstrip("/")), value) for key, value in environ.items()}


# --- docker-compose.yml ----------------------------------------------------------------------

def compose_services(path=ROOT / "docker-compose.yml"):
    return yaml.safe_load(path.read_text())["services"]


INTERPOLATION = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>\w+)")


def interpolate(value, variables):
    """Compose's ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error} and $$."""
    def replace(match):
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op"), match.group("arg")
        present = name in variables
        value = variables.get(name, "")
        if op in (":-", ":?") and not value or op in ("-", "?") and not present:
            if op.endswith("?"):
                raise AssertionError(f"docker-compose.yml requires {name}: {arg}")
            return arg
        return value

    return INTERPOLATION.sub(replace, str(value))


def service_environment(service, variables):
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {key: interpolate(value, variables) for key, value in environment.items() if value is not None}


def rebind(command, address):
    """gunicorn's --bind HOST:PORT replaced by `address`, nothing else changed."""
    positions = [i for i, part in enumerate(command) if part == "--bind"]
    assert len(positions) == 1, f"expected one --bind in {command}"
    return [*command[:positions[0] + 1], address, *command[positions[0] + 2:]]
