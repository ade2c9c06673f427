"""SAM template → CloudFormation, offline.

Local ``CodeUri`` values (function and ``Globals``) are zipped and uploaded to a deployment bucket in
moto's S3 and replaced by ``s3://`` URIs; local ``DefinitionUri`` files of state machines are read and
inlined as ``Definition``. ``samtranslator`` then produces the CloudFormation template, using the AWS
managed policy map bundled with it instead of calling IAM.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
SERVERLESS_STATE_MACHINE = "AWS::Serverless::StateMachine"
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".git", ".venv", ".aws-sam"}


class SamError(RuntimeError):
    """The template cannot be deployed into the embedded AWS."""


def _cfn_yaml_loader() -> type[yaml.SafeLoader]:
    class Loader(yaml.SafeLoader):
        pass

    def intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
        tag = tag_suffix
        key = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {key: value}

    Loader.add_multi_constructor("!", intrinsic)
    return Loader


def load_template(path: Path) -> dict[str, Any]:
    """Read a SAM/CloudFormation template in YAML (with short-form intrinsics) or JSON."""
    text = path.read_text(encoding="utf-8")
    data = yaml.load(text, Loader=_cfn_yaml_loader())  # noqa: S506 - SafeLoader subclass
    if not isinstance(data, dict) or "Resources" not in data:
        raise SamError(f"{path} is not a CloudFormation/SAM template (no Resources)")
    return data


def _is_local(uri: Any) -> bool:
    return isinstance(uri, str) and not uri.startswith("s3://") and "://" not in uri


def zip_directory(directory: Path) -> bytes:
    """Deterministic zip of ``directory`` (no caches or bytecode)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, dirs, files in os.walk(directory):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
            for name in sorted(files):
                if name.endswith((".pyc", ".pyo")):
                    continue
                full = Path(root) / name
                info = zipfile.ZipInfo(str(full.relative_to(directory)), date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16
                archive.writestr(info, full.read_bytes(), zipfile.ZIP_DEFLATED)
    return buf.getvalue()


@dataclass
class PackagedTemplate:
    template: dict[str, Any]
    #: logical id of each AWS::Serverless::Function → its local code directory
    code_dirs: dict[str, Path] = field(default_factory=dict)
    #: logical id of each AWS::Serverless::Function → its handler
    handlers: dict[str, str] = field(default_factory=dict)


def package(template: dict[str, Any], template_dir: Path, s3: Any, bucket: str) -> PackagedTemplate:
    """Upload local code to ``bucket`` and inline local state machine definitions."""
    tpl = copy.deepcopy(template)
    uploaded: dict[Path, str] = {}

    def upload(local: str) -> tuple[str, Path]:
        directory = (template_dir / local).resolve()
        if not directory.is_dir():
            raise SamError(f"CodeUri {local!r} is not a directory under {template_dir}")
        if directory not in uploaded:
            body = zip_directory(directory)
            key = f"code/{hashlib.sha256(body).hexdigest()}.zip"
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            uploaded[directory] = f"s3://{bucket}/{key}"
        return uploaded[directory], directory

    globals_fn = tpl.get("Globals", {}).get("Function", {}) or {}
    global_code = globals_fn.get("CodeUri")
    global_dir: Path | None = None
    if isinstance(global_code, str) and _is_local(global_code):
        globals_fn["CodeUri"], global_dir = upload(global_code)
    global_handler = globals_fn.get("Handler")

    packaged = PackagedTemplate(tpl)
    for logical_id, resource in (tpl.get("Resources") or {}).items():
        rtype = resource.get("Type")
        if rtype not in (SERVERLESS_FUNCTION, SERVERLESS_STATE_MACHINE):
            continue
        props = resource.setdefault("Properties", {})
        if rtype == SERVERLESS_FUNCTION:
            code = props.get("CodeUri")
            if _is_local(code):
                props["CodeUri"], packaged.code_dirs[logical_id] = upload(code)
            elif code is None and global_dir is not None:
                packaged.code_dirs[logical_id] = global_dir
            handler = props.get("Handler", global_handler)
            if isinstance(handler, str):
                packaged.handlers[logical_id] = handler
        else:
            uri = props.get("DefinitionUri")
            if _is_local(uri):
                path = (template_dir / uri).resolve()
                text = path.read_text(encoding="utf-8")
                definition = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
                props.pop("DefinitionUri")
                props["Definition"] = definition
    return packaged


class OfflinePolicyLoader:
    """samtranslator managed-policy loader that never calls IAM."""

    def load(self) -> dict[str, str]:
        from samtranslator.internal.managed_policies import get_bundled_managed_policy_map

        bundled = get_bundled_managed_policy_map("aws") or {}
        return dict(bundled)


def translate(template: dict[str, Any], parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """SAM → CloudFormation (``AWS_DEFAULT_REGION`` must be set)."""
    from samtranslator.translator.transform import transform

    if "Transform" not in template:
        return copy.deepcopy(template)
    # samtranslator warns that its own usage metrics were never published: noise offline.
    logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)
    try:
        return transform(copy.deepcopy(template), dict(parameters or {}), OfflinePolicyLoader())  # type: ignore[arg-type]
    except Exception as exc:  # samtranslator raises InvalidDocumentException with causes
        causes = getattr(exc, "causes", None)
        detail = "; ".join(str(c) for c in causes) if causes else str(exc)
        raise SamError(f"SAM translation failed: {detail}") from exc
