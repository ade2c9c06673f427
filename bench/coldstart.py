"""Cold start: each handler module imported in a fresh interpreter, against the floor (import boto3 and
create one client) measured in the same run, alternating so that drift hits both alike.

Each probe is a new ``python`` process that times its own import with ``time.perf_counter`` (interpreter
start-up is the same for both and reported apart as the process wall time) and reports its peak RSS
(``VmHWM`` after the import: the baseline memory of a container of that function).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.template_info import TemplateInfo

FLOOR_CODE = "import boto3\nboto3.client('dynamodb', region_name='us-east-1')"
# Peak RSS from /proc/self/status VmHWM: ru_maxrss survives fork+exec on Linux and would report the
# parent's (the bench process) peak instead of the probe's.
_PROBE = """
import json, resource, sys, time
start = time.perf_counter()
exec(compile(sys.argv[1], "<probe>", "exec"))
elapsed = time.perf_counter() - start
try:
    hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
except (OSError, StopIteration):
    hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"import_s": elapsed, "maxrss_kb": hwm}))
"""


@dataclass
class Probe:
    import_s: list[float]
    wall_s: list[float]
    maxrss_kb: list[int]

    def summary(self) -> dict[str, Any]:
        return {
            "import_ms_median": statistics.median(self.import_s) * 1000,
            "import_ms_min": min(self.import_s) * 1000,
            "process_wall_ms_median": statistics.median(self.wall_s) * 1000,
            "peak_rss_mb_median": statistics.median(self.maxrss_kb) / 1024,
            "samples": len(self.import_s),
        }


def _run(code: str, env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    start = time.perf_counter()
    out = subprocess.run(  # noqa: S603 - our own interpreter and our own probe code
        [sys.executable, "-c", _PROBE, code], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"cold-start probe failed for {code!r}: {out.stderr.strip()[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return float(result["import_s"]), wall, int(result["maxrss_kb"])


def _lambda_like_env(root: Path, info: TemplateInfo, logical_id: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "PYTHON"))}
    env.update(
        {
            "PYTHONPATH": str(root / info.code_uri),
            "PYTHONDONTWRITEBYTECODE": "",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }
    )
    env.pop("PYTHONDONTWRITEBYTECODE")
    if logical_id is not None:
        fn = info.functions[logical_id]
        env.update(info.global_environment)
        env.update(fn.environment)
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": logical_id,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_mb),
                "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
                "LAMBDA_TASK_ROOT": str(root / info.code_uri),
            }
        )
    return env


def measure_cold_starts(root: Path, info: TemplateInfo, repeats: int = 5) -> dict[str, Any]:
    floor = Probe([], [], [])
    handlers = {logical_id: Probe([], [], []) for logical_id in sorted(info.functions)}
    # One warm-up of each so that the first sample does not pay for the disk cache / .pyc writing.
    _run(FLOOR_CODE, _lambda_like_env(root, info, None), root)
    for logical_id in handlers:
        _run(f"import {info.functions[logical_id].module}", _lambda_like_env(root, info, logical_id), root)
    for _ in range(repeats):
        runs: list[tuple[Probe, str, str | None]] = [(floor, FLOOR_CODE, None)]
        runs += [(handlers[i], f"import {info.functions[i].module}", i) for i in handlers]
        for probe, code, function in runs:
            imported, wall, rss = _run(code, _lambda_like_env(root, info, function), root)
            probe.import_s.append(imported)
            probe.wall_s.append(wall)
            probe.maxrss_kb.append(rss)
    floor_summary = floor.summary()
    result: dict[str, Any] = {"floor": {"code": FLOOR_CODE, **floor_summary}, "handlers": {}}
    for logical_id, probe in handlers.items():
        summary = probe.summary()
        summary["module"] = info.functions[logical_id].module
        summary["ratio_to_floor"] = summary["import_ms_median"] / floor_summary["import_ms_median"]
        result["handlers"][logical_id] = summary
    ratios = [h["ratio_to_floor"] for h in result["handlers"].values()]
    result["max_ratio"] = max(ratios) if ratios else 0.0
    result["repeats"] = repeats
    return result
