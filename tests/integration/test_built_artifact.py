"""What `sam build` packages is what runs on Lambda: every function's handler imports from the built
artifact alone (its CodeUri and functions/requirements.txt, nothing of this repository or its virtualenv),
on the functions' runtime Python. A module left outside the CodeUri fails here, not after a deploy.

The deployable build is arm64 (the template's architecture); its native wheels cannot load on this x86
machine, so the same template is built once more for x86_64 into a scratch directory and imported from
there: what is packaged is the same, only the wheels' platform differs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
SAM = ROOT / ".venv-sam" / "bin" / "sam"
TEMPLATE = cfn_yaml.load(str(ROOT / "template.yaml"))
FUNCTIONS = {
    name: resource["Properties"]["Handler"]
    for name, resource in TEMPLATE["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
}


def _runtime_python() -> str:
    runtime = TEMPLATE["Globals"]["Function"]["Runtime"].removeprefix("python")  # "3.12"
    found = shutil.which(f"python{runtime}")
    pyenv = Path.home() / ".pyenv" / "versions"
    for version in sorted(pyenv.glob(f"{runtime}.*"), reverse=True) if pyenv.exists() else []:
        candidate = version / "bin" / f"python{runtime}"
        if candidate.exists():
            return str(candidate)
    assert found, f"python{runtime} (the functions' runtime) is needed on PATH or in pyenv"
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert SAM.exists(), "the SAM CLI lives in .venv-sam: run `make setup-iac`"
    work = tmp_path_factory.mktemp("sam")
    source = (ROOT / "template.yaml").read_text()
    assert "Architectures: [arm64]" in source
    local = source.replace("Architectures: [arm64]", "Architectures: [x86_64]").replace(
        "CodeUri: functions/", f"CodeUri: {ROOT / 'functions'}/"
    )
    (work / "template.yaml").write_text(local)
    python = _runtime_python()
    env = {
        **os.environ,
        "PATH": f"{Path(python).parent}{os.pathsep}{os.environ['PATH']}",
        "SAM_CLI_TELEMETRY": "0",
    }
    run = subprocess.run(  # noqa: S603 - the pinned SAM CLI on a copy of this repository's template
        [
            str(SAM),
            "build",
            "--template-file",
            str(work / "template.yaml"),
            "--build-dir",
            str(work / "build"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return work / "build"


@pytest.mark.slow
@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_handler_imports_from_the_built_artifact_alone(built: Path, function: str) -> None:
    module, _, attribute = FUNCTIONS[function].rpartition(".")
    code = (
        "import importlib, sys\n"
        f"handler = getattr(importlib.import_module({module!r}), {attribute!r})\n"
        "assert callable(handler)\n"
        "outside = [m.__name__ for m in list(sys.modules.values()) if getattr(m, '__file__', None)\n"
        f"           and m.__file__.startswith({str(ROOT)!r}) and not m.__file__.startswith(sys.path[0])]\n"
        "assert not outside, outside\n"
    )
    # -I -S: no user site, no site-packages, no PYTHONPATH: the artifact and the standard library only.
    run = subprocess.run(  # noqa: S603 - the runtime Python on the built artifact
        [
            _runtime_python(),
            "-I",
            "-S",
            "-c",
            f"import sys; sys.path.insert(0, {str(built / function)!r})\n{code}",
        ],
        capture_output=True,
        text=True,
        cwd=built / function,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": os.environ["PATH"]},
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
