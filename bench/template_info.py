"""What the bench reads from template.yaml: each function's handler and memory, each state machine's type."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.tracing import TracingSettings, read_tracing
from infra.embedded._sam import load_template


@dataclass(frozen=True)
class FunctionInfo:
    logical_id: str
    handler: str
    memory_mb: int
    environment: dict[str, str]

    @property
    def module(self) -> str:
        return self.handler.rpartition(".")[0]


@dataclass(frozen=True)
class TemplateInfo:
    functions: dict[str, FunctionInfo]
    state_machine_types: dict[str, str]
    global_environment: dict[str, str]
    code_uri: str
    tracing: TracingSettings = field(default_factory=TracingSettings)
    """Who starts X-Ray traces, and at what rate (bench/tracing.py)."""


def read_template(path: Path) -> TemplateInfo:
    template: dict[str, Any] = load_template(path)
    glob = (template.get("Globals") or {}).get("Function") or {}
    default_memory = int(glob.get("MemorySize", 128))
    global_env = {
        k: v
        for k, v in ((glob.get("Environment") or {}).get("Variables") or {}).items()
        if isinstance(v, str)
    }
    functions: dict[str, FunctionInfo] = {}
    machines: dict[str, str] = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::Serverless::Function":
            env = {
                k: v
                for k, v in ((props.get("Environment") or {}).get("Variables") or {}).items()
                if isinstance(v, str)
            }
            functions[logical_id] = FunctionInfo(
                logical_id, str(props["Handler"]), int(props.get("MemorySize", default_memory)), env
            )
        elif resource.get("Type") == "AWS::Serverless::StateMachine":
            machines[logical_id] = str(props.get("Type", "STANDARD")).upper()
        elif resource.get("Type") == "AWS::StepFunctions::StateMachine":
            machines[logical_id] = str(props.get("StateMachineType", "STANDARD")).upper()
    return TemplateInfo(
        functions, machines, global_env, str(glob.get("CodeUri", "functions/")), read_tracing(template)
    )
