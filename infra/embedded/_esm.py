"""SQS → Lambda event-source mappings, polled like the Lambda service does.

moto invokes the function inline inside ``SendMessage`` (``Queue.add_message``), one message at a
time, without partial batch responses. :class:`SqsPollers` disables that (``install``) and runs one
poller thread per enabled SQS mapping instead: ReceiveMessage (long poll, batch size), a real SQS
event, a synchronous invoke through moto's Lambda API (so the in-process runtime runs the handler),
then DeleteMessage for what succeeded. ``FunctionResponseTypes: [ReportBatchItemFailures]`` is
honoured; a function error fails the whole batch. Failed messages reappear after the queue's
visibility timeout, or after ``retry_delay`` seconds when set; moto's RedrivePolicy handling moves a
message to the DLQ on the receive after ``maxReceiveCount``.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from typing import Any

LOG = logging.getLogger("infra.embedded.esm")


class SqsPollers:
    def __init__(
        self, account_id: str, region: str, retry_delay: float | None = None, concurrency: int = 1
    ) -> None:
        self.account_id = account_id
        self.region = region
        self.retry_delay = retry_delay
        #: concurrent batches per mapping (Lambda scales pollers out; 1 keeps batches in order)
        self.concurrency = max(1, concurrency)
        self._sync_lock = threading.Lock()
        self._receive_locks: dict[str, threading.Lock] = {}
        self._stop = threading.Event()
        self._threads: dict[str, threading.Thread] = {}
        self._stops: dict[str, threading.Event] = {}
        self._busy = 0
        self._lock = threading.Lock()
        self._supervisor: threading.Thread | None = None
        self._original_add_message: Any = None
        #: the fault injector (``_faults.FaultInjector``) when a fault plan is active
        self.faults: Any = None

    # ------------------------------------------------------------------ moto patch
    def install(self) -> None:
        """Stop moto from invoking Lambda inline from SendMessage."""
        from moto.sqs.models import DEDUPLICATION_TIME_IN_SECONDS, Queue

        self._original_add_message = Queue.__dict__["add_message"]

        def add_message(queue: Any, message: Any) -> None:
            if queue.fifo_queue and (
                queue.attributes.get("ContentBasedDeduplication") == "true" or message.deduplication_id
            ):
                for existing in queue._messages:
                    if existing.deduplication_id == message.deduplication_id:
                        age = (message.sent_timestamp - existing.sent_timestamp) / 1000
                        if age < DEDUPLICATION_TIME_IN_SECONDS:
                            return
            with queue._messages_lock:
                queue._messages.append(message)
                queue._messages_lock.notify_all()

        Queue.add_message = add_message  # type: ignore[method-assign,assignment]

    def uninstall(self) -> None:
        from moto.sqs.models import Queue

        if self._original_add_message is not None:
            Queue.add_message = self._original_add_message  # type: ignore[method-assign]
            self._original_add_message = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._stop.clear()
        self._supervisor = threading.Thread(
            target=self._supervise, name="embedded-esm-supervisor", daemon=True
        )
        self._supervisor.start()

    def stop(self) -> None:
        self._stop.set()
        for ev in self._stops.values():
            ev.set()
        for thread in list(self._threads.values()):
            thread.join(timeout=5)
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)
        self._threads.clear()
        self._stops.clear()

    def sync(self) -> None:
        """Start pollers for new enabled mappings, stop those of disabled or deleted ones."""
        from moto.awslambda.models import lambda_backends

        backend = lambda_backends[self.account_id][self.region]
        with self._sync_lock:
            wanted: dict[str, Any] = {}
            for uuid, esm in list(backend._event_source_mappings.items()):
                if esm.enabled and esm.event_source_arn.split(":")[2] == "sqs":
                    for i in range(self.concurrency):
                        wanted[f"{uuid}#{i}"] = esm
            for key in list(self._threads):
                if key not in wanted or not self._threads[key].is_alive():
                    self._stops.pop(key).set()
                    self._threads.pop(key)
            for key, esm in wanted.items():
                if key not in self._threads and not self._stop.is_set():
                    stop = threading.Event()
                    thread = threading.Thread(
                        target=self._poll, args=(esm, stop), name=f"embedded-esm-{key[:8]}", daemon=True
                    )
                    self._stops[key] = stop
                    self._threads[key] = thread
                    thread.start()

    def _supervise(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self.sync()
            except Exception:  # keep supervising
                LOG.exception("ESM supervisor failed")

    @property
    def busy(self) -> bool:
        return self._busy > 0

    def source_queue_names(self) -> set[str]:
        from moto.awslambda.models import lambda_backends

        backend = lambda_backends[self.account_id][self.region]
        return {
            esm.event_source_arn.split(":")[5]
            for esm in list(backend._event_source_mappings.values())
            if esm.event_source_arn.split(":")[2] == "sqs"
        }

    # ------------------------------------------------------------------ polling
    def _poll(self, esm: Any, stop: threading.Event) -> None:
        import boto3

        sqs = boto3.client("sqs", region_name=self.region)
        lam = boto3.client("lambda", region_name=self.region)
        queue_name = esm.event_source_arn.split(":")[5]
        queue_url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
        batch_size = min(int(esm.batch_size or 10), 10)
        report_failures = "ReportBatchItemFailures" in (esm.function_response_types or [])
        while not stop.is_set() and not self._stop.is_set():
            try:
                self._poll_once(sqs, lam, esm, queue_name, queue_url, batch_size, report_failures)
            except Exception:
                if stop.is_set() or self._stop.is_set():
                    return
                LOG.exception("ESM poller for %s failed; retrying", queue_name)
                time.sleep(0.5)

    def _poll_once(
        self,
        sqs: Any,
        lam: Any,
        esm: Any,
        queue_name: str,
        queue_url: str,
        batch_size: int,
        report_failures: bool,
    ) -> None:
        # moto's ReceiveMessage is not atomic: pollers of one queue take turns.
        with self._receive_locks.setdefault(queue_name, threading.Lock()):
            resp = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=batch_size,
                WaitTimeSeconds=0,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
        messages = resp.get("Messages", [])
        if not messages:
            self._wait_for_messages(queue_name, 1.0)
            return
        with self._lock:
            self._busy += 1
        try:
            self._process(sqs, lam, esm, queue_name, queue_url, messages, report_failures)
        finally:
            with self._lock:
                self._busy -= 1

    def _process(
        self,
        sqs: Any,
        lam: Any,
        esm: Any,
        queue_name: str,
        queue_url: str,
        messages: list[dict[str, Any]],
        report_failures: bool,
    ) -> None:
        if self.faults is not None:
            messages, held_back = self.faults.shape_batch(queue_name, esm.function_arn, messages)
            for message, delay in held_back:  # delivered later (it stays in the queue meanwhile)
                self._delay_retry(queue_name, [message["ReceiptHandle"]], delay, received=False)
            if not messages:
                return
        hidden_until = self._visible_at(queue_name, messages)
        event = {"Records": [self._record(m, esm.event_source_arn) for m in messages]}
        result = lam.invoke(FunctionName=esm.function_arn, Payload=json.dumps(event).encode())
        payload = result["Payload"].read()
        ids = [m["MessageId"] for m in messages]
        if result.get("FunctionError"):
            failed = set(ids)
        elif report_failures:
            failed = self._parse_failures(payload, set(ids))
        else:
            failed = set()
        done = [m for m in messages if m["MessageId"] not in failed]
        if self.faults is not None:
            redeliver = [m for m in done if self.faults.redelivered(queue_name, esm.function_arn, m)]
            done = [m for m in done if m not in redeliver]
            if redeliver:  # processed, but the delete is lost: SQS delivers the message again
                self._delay_retry(
                    queue_name, [m["ReceiptHandle"] for m in redeliver], self.retry_delay or 0.05
                )
        if done:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        if failed:
            LOG.info("ESM %s: %d of %d messages failed", queue_name, len(failed), len(messages))
            if self.retry_delay is not None:
                # A message whose visibility the handler changed (ChangeMessageVisibility: "come back in
                # N s") keeps it; the others come back after retry_delay.
                changed = self._visible_at(queue_name, messages)
                handles = [
                    m["ReceiptHandle"]
                    for m in messages
                    if m["MessageId"] in failed
                    and changed.get(m["MessageId"]) == hidden_until.get(m["MessageId"])
                ]
                self._delay_retry(queue_name, handles, self.retry_delay)

    def _wait_for_messages(self, queue_name: str, timeout: float) -> None:
        """Long poll without holding the receive lock: wake when a message becomes visible."""
        from moto.sqs.models import sqs_backends

        queue = sqs_backends[self.account_id][self.region].get_queue(queue_name)
        with queue._messages_lock:
            queue._messages_lock.wait_for(lambda: queue.messages, timeout=timeout)
        time.sleep(0.01)

    @staticmethod
    def _parse_failures(payload: bytes, ids: set[str]) -> set[str]:
        """Lambda's rules: an empty/null response or an empty list means success; a malformed
        response or an unknown/empty itemIdentifier fails the whole batch."""
        text = payload.decode("utf-8", "replace").strip()
        if not text or text == "null":
            return set()
        try:
            body = json.loads(text)
        except ValueError:
            return set(ids)
        if not isinstance(body, dict):
            return set(ids)
        items = body.get("batchItemFailures")
        if items is None:
            return set()
        if not isinstance(items, list):
            return set(ids)
        failed: set[str] = set()
        for item in items:
            ident = item.get("itemIdentifier") if isinstance(item, dict) else None
            if not ident or ident not in ids:
                return set(ids)
            failed.add(ident)
        return failed

    def _record(self, message: dict[str, Any], source_arn: str) -> dict[str, Any]:
        attributes = dict(message.get("Attributes", {}))
        msg_attrs: dict[str, Any] = {}
        for name, attr in (message.get("MessageAttributes") or {}).items():
            converted: dict[str, Any] = {
                "dataType": attr["DataType"],
                "stringListValues": [],
                "binaryListValues": [],
            }
            if "StringValue" in attr:
                converted["stringValue"] = attr["StringValue"]
            if "BinaryValue" in attr:
                converted["binaryValue"] = base64.b64encode(attr["BinaryValue"]).decode()
            msg_attrs[name] = converted
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": attributes,
            "messageAttributes": msg_attrs,
            "md5OfBody": message.get("MD5OfBody", ""),
            **(
                {"md5OfMessageAttributes": message["MD5OfMessageAttributes"]}
                if message.get("MD5OfMessageAttributes")
                else {}
            ),
            "eventSource": "aws:sqs",
            "eventSourceARN": source_arn,
            "awsRegion": self.region,
        }

    def _visible_at(self, queue_name: str, messages: list[dict[str, Any]]) -> dict[str, float]:
        from moto.sqs.models import sqs_backends

        ids = {m["MessageId"] for m in messages}
        queue = sqs_backends[self.account_id][self.region].get_queue(queue_name)
        with queue._messages_lock:
            return {message.id: message.visible_at for message in queue._messages if message.id in ids}

    def _delay_retry(
        self, queue_name: str, receipt_handles: list[str], delay: float, *, received: bool = True
    ) -> None:
        """Make failed messages visible again after ``delay`` seconds (fractional, unlike the API).
        ``received=False``: the receive does not count (a message held back, not delivered)."""
        from moto.core.utils import unix_time_millis
        from moto.sqs.models import sqs_backends

        queue = sqs_backends[self.account_id][self.region].get_queue(queue_name)
        visible_at = unix_time_millis() + delay * 1000
        with queue._messages_lock:
            for message in queue._messages:
                if any(message.had_receipt_handle(h) for h in receipt_handles):
                    message.visible_at = visible_at
                    if not received:
                        message.approximate_receive_count -= 1

        def wake() -> None:
            with queue._messages_lock:
                queue._messages_lock.notify_all()

        timer = threading.Timer(delay + 0.01, wake)
        timer.daemon = True
        timer.start()
