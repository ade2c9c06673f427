"""CloudFormation deployment into moto, with the fill-ins moto needs.

* Resource types moto's CloudFormation cannot create are either created here through the service API
  (``AWS::SecretsManager::Secret``), stripped with a log line when they are operational extras that
  have no local behaviour (HTTP API resources: served by :mod:`._http` instead; schedules, alarms…),
  or refused with a clear error.
* ``AWS::StepFunctions::StateMachine`` is created in moto's *executing* Step Functions backend with its
  ``DefinitionSubstitutions`` applied (moto's own CloudFormation model uses the non-executing backend
  and ignores the substitutions). Because the state machine is created while the stack is parsed,
  ``!Ref``/``!GetAtt`` of it anywhere else resolve to the executing machine's ARN.
* EventBridge rules may target only SQS queues, other buses, log groups and archives: moto delivers
  to nothing else, so a rule targeting Lambda or Step Functions fails the deployment.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import secrets
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ._sam import SamError

LOG = logging.getLogger("infra.embedded.deploy")

#: Types with no local behaviour: removed before create_stack (Refs to them become placeholders).
STRIPPABLE_PREFIXES: tuple[str, ...] = (
    "AWS::ApiGatewayV2::",
    "AWS::ApiGateway::",
    "AWS::Scheduler::",
    "AWS::CloudWatch::",
    "AWS::XRay::",
    "AWS::Lambda::Url",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::ApplicationAutoScaling::",
    "AWS::SecretsManager::RotationSchedule",
    "AWS::SecretsManager::ResourcePolicy",
    "AWS::SecretsManager::SecretTargetAttachment",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
    "AWS::S3::BucketPolicy",
    "AWS::Events::Connection",
    "AWS::Events::ApiDestination",
    "AWS::Glue::",
    "AWS::Athena::",
    "AWS::KMS::",
    "AWS::Budgets::",
    "AWS::ResourceGroups::",
)
#: Types created here through the service API instead of moto's CloudFormation.
API_CREATED_TYPES = ("AWS::SecretsManager::Secret",)
#: Rule target services moto's EventBridge delivers to.
DELIVERABLE_RULE_TARGETS = ("sqs", "events", "logs")

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")


@dataclass
class PreparedTemplate:
    template: dict[str, Any]
    stripped: dict[str, str] = field(default_factory=dict)  # logical id -> type
    api_created: dict[str, str] = field(default_factory=dict)  # logical id -> physical id (ARN)
    api_created_types: dict[str, str] = field(default_factory=dict)
    #: AWS::Scheduler::Schedule logical id -> its Properties (run by the local scheduler, not by moto)
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)


def _moto_supported_types() -> set[str]:
    from moto.cloudformation.parsing import NULL_MODELS, get_model_map

    return set(get_model_map()) | set(NULL_MODELS)


def _replace_refs(node: Any, values: dict[str, str]) -> Any:
    """Replace Ref / GetAtt / ${X} of the given logical ids by literal strings."""
    if isinstance(node, list):
        return [_replace_refs(v, values) for v in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, arg),) = node.items()
        if key == "Ref" and isinstance(arg, str) and arg in values:
            return values[arg]
        if key == "Fn::GetAtt":
            target = arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0]
            if target in values:
                return values[target]
        if key == "Fn::Sub":
            if isinstance(arg, str):
                text, variables = arg, {}
            else:
                text, variables = arg[0], dict(arg[1]) if len(arg) > 1 else {}
            names = {m.group(1) for m in _PLACEHOLDER.finditer(text)}
            for name in names:
                base = name.split(".", 1)[0]
                if base in values and name not in variables:
                    text = text.replace("${" + name + "}", values[base])
            variables = {k: _replace_refs(v, values) for k, v in variables.items()}
            return {"Fn::Sub": [text, variables] if variables else text}
    return {k: _replace_refs(v, values) for k, v in node.items()}


def _resolve_simple(node: Any, pseudo: dict[str, str], what: str) -> Any:
    """Resolve Ref/Sub/Join of parameters and pseudo parameters only (for API-created resources)."""
    if isinstance(node, list):
        return [_resolve_simple(v, pseudo, what) for v in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((key, arg),) = node.items()
        if key == "Ref":
            if arg in pseudo:
                return pseudo[arg]
            raise SamError(f"{what}: cannot resolve Ref {arg!r} before the stack exists")
        if key == "Fn::Sub":
            text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1] if len(arg) > 1 else {})
            scope = dict(pseudo)
            scope.update({k: _resolve_simple(v, pseudo, what) for k, v in variables.items()})

            def sub(match: re.Match[str]) -> str:
                if match.group(1) not in scope:
                    raise SamError(f"{what}: cannot resolve ${{{match.group(1)}}} before the stack exists")
                return str(scope[match.group(1)])

            return _PLACEHOLDER.sub(sub, text)
        if key == "Fn::Join":
            sep, items = arg
            return sep.join(str(_resolve_simple(i, pseudo, what)) for i in items)
    return {k: _resolve_simple(v, pseudo, what) for k, v in node.items()}


def _ref_target(node: Any) -> str | None:
    if isinstance(node, dict) and len(node) == 1:
        ((key, arg),) = node.items()
        if key == "Ref" and isinstance(arg, str):
            return arg
        if key == "Fn::GetAtt":
            return arg[0] if isinstance(arg, list) else str(arg).split(".", 1)[0]
    return None


def check_rule_targets(template: dict[str, Any]) -> None:
    """Fail loudly for EventBridge rules whose targets moto would not deliver to."""
    resources = template.get("Resources", {})
    problems: list[str] = []
    for logical_id, res in resources.items():
        if res.get("Type") != "AWS::Events::Rule":
            continue
        for target in res.get("Properties", {}).get("Targets", []) or []:
            arn = target.get("Arn")
            target_id = target.get("Id", "?")
            ref = _ref_target(arn)
            if ref is not None:
                rtype = resources.get(ref, {}).get("Type", "")
                ok = rtype in ("AWS::SQS::Queue", "AWS::Events::EventBus", "AWS::Logs::LogGroup")
                desc = f"{ref} ({rtype or 'unknown'})"
            elif isinstance(arn, str):
                service = arn.split(":")[2] if arn.count(":") >= 2 else ""
                ok = service in DELIVERABLE_RULE_TARGETS
                desc = arn
            else:
                ok, desc = True, json.dumps(arn)  # an expression we cannot judge statically
            if not ok:
                problems.append(f"rule {logical_id} target {target_id} -> {desc}")
            if "Input" in target or "InputPath" in target:
                problems.append(
                    f"rule {logical_id} target {target_id} uses Input/InputPath, which moto ignores "
                    "(use InputTransformer or the whole event)"
                )
    if problems:
        raise SamError(
            "EventBridge rules must target SQS queues (with a DLQ) in this system; the embedded AWS "
            "cannot deliver: " + "; ".join(problems)
        )


def prepare(
    cfn: dict[str, Any],
    stack_name: str,
    pseudo: dict[str, str],
    create_secret: Callable[[str, dict[str, Any]], str],
    extra_strippable: Iterable[str] = (),
) -> PreparedTemplate:
    """Strip/create what moto's CloudFormation cannot handle; refuse what the system needs but cannot run."""
    tpl = copy.deepcopy(cfn)
    resources: dict[str, Any] = tpl.get("Resources", {})
    supported = _moto_supported_types()
    strippable = STRIPPABLE_PREFIXES + tuple(extra_strippable)
    prepared = PreparedTemplate(tpl)
    unsupported: list[str] = []

    for logical_id, res in list(resources.items()):
        rtype = res.get("Type", "")
        if rtype in API_CREATED_TYPES:
            props = _resolve_simple(res.get("Properties", {}), pseudo, f"{logical_id} ({rtype})")
            prepared.api_created[logical_id] = create_secret(logical_id, props)
            prepared.api_created_types[logical_id] = rtype
            del resources[logical_id]
        elif rtype == "AWS::SSM::Parameter" and not res.get("Properties", {}).get("Name"):
            # CloudFormation generates a name; moto's model requires one.
            res.setdefault("Properties", {})["Name"] = f"{stack_name}-{logical_id}"
        elif rtype not in supported and rtype.startswith(strippable):
            if rtype == "AWS::Scheduler::Schedule":
                prepared.schedules[logical_id] = copy.deepcopy(res.get("Properties") or {})
            prepared.stripped[logical_id] = rtype
            del resources[logical_id]
        elif rtype not in supported and not rtype.startswith("Custom::"):
            unsupported.append(f"{logical_id} ({rtype})")
    if unsupported:
        raise SamError(
            "The embedded AWS cannot create these resources and they are not known to be safe to skip: "
            + ", ".join(unsupported)
            + ". Add an emulation in infra/embedded or list the type in STRIPPABLE_PREFIXES."
        )
    for logical_id, rtype in prepared.stripped.items():
        LOG.info("embedded AWS: skipping %s (%s): no local emulation needed", logical_id, rtype)

    values = {lid: f"embedded-skipped-{lid}" for lid in prepared.stripped}
    values.update(prepared.api_created)
    if values:
        for logical_id, res in resources.items():
            depends = res.get("DependsOn")
            if isinstance(depends, str):
                depends = [depends]
            if depends:
                kept = [d for d in depends if d not in values]
                if kept:
                    res["DependsOn"] = kept
                else:
                    res.pop("DependsOn")
            resources[logical_id] = _replace_refs(res, values)
        if "Outputs" in tpl:
            tpl["Outputs"] = _replace_refs(tpl["Outputs"], values)
    check_rule_targets(tpl)
    return prepared


def secret_creator(sm_client: Any, stack_name: str) -> Callable[[str, dict[str, Any]], str]:
    """Returns a function creating an AWS::SecretsManager::Secret through the API; returns its ARN."""

    def create(logical_id: str, props: dict[str, Any]) -> str:
        name = props.get("Name") or f"{stack_name}-{logical_id}"
        kwargs: dict[str, Any] = {"Name": name}
        if props.get("Description"):
            kwargs["Description"] = props["Description"]
        if props.get("Tags"):
            kwargs["Tags"] = props["Tags"]
        if "SecretString" in props:
            kwargs["SecretString"] = props["SecretString"]
        else:
            gen = props.get("GenerateSecretString") or {}
            length = int(gen.get("PasswordLength", 32))
            excluded = set(gen.get("ExcludeCharacters", ""))
            alphabet = string.ascii_letters + string.digits
            if not gen.get("ExcludePunctuation", False):
                alphabet += "!#$%&()*+,-.:;<=>?@[]^_{|}~"
            alphabet = "".join(c for c in alphabet if c not in excluded)
            password = "".join(secrets.choice(alphabet) for _ in range(length))
            if gen.get("SecretStringTemplate") and gen.get("GenerateStringKey"):
                body = json.loads(gen["SecretStringTemplate"])
                body[gen["GenerateStringKey"]] = password
                kwargs["SecretString"] = json.dumps(body)
            else:
                kwargs["SecretString"] = password
        arn: str = sm_client.create_secret(**kwargs)["ARN"]
        return arn

    return create


# ---------------------------------------------------------------------------- state machines
def substitute_definition(definition: str, substitutions: dict[str, Any], what: str) -> str:
    """Apply DefinitionSubstitutions (values JSON-escaped) and refuse leftover ``${...}``."""

    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in substitutions:
            return match.group(0)
        return json.dumps(str(substitutions[key]))[1:-1]

    result = _PLACEHOLDER.sub(sub, definition)
    left = sorted({m.group(1) for m in _PLACEHOLDER.finditer(result)})
    if left:
        raise SamError(f"State machine {what}: DefinitionSubstitutions missing for {left}")
    return result


class StateMachineCfnPatch:
    """Makes moto's CloudFormation create state machines in the executing Step Functions backend."""

    def __init__(self) -> None:
        self._original: Any = None

    def install(self) -> None:
        from moto.stepfunctions.models import StateMachine

        self._original = StateMachine.__dict__["create_from_cloudformation_json"]

        def create_from_cloudformation_json(
            cls: Any,
            resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> Any:
            from moto.stepfunctions.parser.models import stepfunctions_parser_backends

            props = cloudformation_json["Properties"]
            name = props.get("StateMachineName", resource_name)
            definition = props.get("DefinitionString")
            if definition is None and "Definition" in props:
                definition = json.dumps(props["Definition"])
            if not definition:
                raise SamError(
                    f"State machine {kwargs.get('LogicalId', name)}: no definition (use DefinitionUri "
                    "with a local file, or Definition)"
                )
            definition = substitute_definition(
                definition, props.get("DefinitionSubstitutions") or {}, kwargs.get("LogicalId", name)
            )
            backend = stepfunctions_parser_backends[account_id][region_name]
            return backend.create_state_machine(
                name=name,
                definition=definition,
                roleArn=props.get("RoleArn") or f"arn:aws:iam::{account_id}:role/embedded-sfn",
                sm_type=props.get("StateMachineType", "STANDARD"),
            )

        StateMachine.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        from moto.stepfunctions.models import StateMachine

        if self._original is not None:
            StateMachine.create_from_cloudformation_json = self._original  # type: ignore[method-assign]
            self._original = None
