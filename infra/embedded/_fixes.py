"""Small corrections to moto's CloudFormation models (each restored on stop)."""

from __future__ import annotations

from typing import Any

_MISSING = object()


class MotoFixes:
    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    def _set(self, owner: Any, name: str, value: Any) -> None:
        self._saved.append((owner, name, owner.__dict__.get(name, _MISSING)))
        setattr(owner, name, value)

    def install(self) -> None:
        from moto.events.models import EventBus
        from moto.events.utils import EventTemplateParser

        if "physical_resource_id" not in EventBus.__dict__:
            # !Ref of an AWS::Events::EventBus is its name; moto returns the model object itself.
            self._set(EventBus, "physical_resource_id", property(lambda bus: bus.name))
        template = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
        if '"account"' not in template:
            # Events delivered to targets lack the "account" field real EventBridge events carry.
            if '"version": "0",' not in template:
                raise RuntimeError(
                    "moto's EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE changed shape: the embedded "
                    "AWS fix that adds the event's account field must be ported to this moto version"
                )
            self._set(
                EventTemplateParser,
                "DEFAULT_EVENT_INPUT_TEMPLATE",
                template.replace('"version": "0",', '"version": "0", "account": "<account>",', 1),
            )

    def uninstall(self) -> None:
        while self._saved:
            owner, name, value = self._saved.pop()
            if value is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, value)
