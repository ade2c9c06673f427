"""DynamoDB Streams → Lambda event-source mappings, polled like the Lambda service does.

moto appends a stream record for every write and then invokes each mapped function inline, inside the
write (and so inside the emulated DynamoDB's lock), with *every* record the shard holds; it numbers records
by the shard's length, which repeats numbers once it clears them; and a cancelled TransactWriteItems leaves
the records of the writes it rolled back. :class:`DynamoDbStreams` replaces that:

* ``StreamShard.add`` only appends the record (numbered from a counter that never repeats) and wakes the
  pollers; a record written inside a TransactWriteItems is held back until the transaction commits, and
  dropped if it is cancelled (DynamoDB Streams shows committed writes only);
* one poller thread per enabled mapping on a stream reads the shard from its checkpoint
  (``StartingPosition`` TRIM_HORIZON or LATEST), in order, in batches of ``BatchSize`` (default 100) after
  ``MaximumBatchingWindowInSeconds``, and invokes the function through moto's Lambda API (so the in-process
  runtime runs the handler) with the event Lambda sends (``Records`` with ``eventID``, ``eventName``,
  ``dynamodb.Keys/NewImage/OldImage/SequenceNumber/ApproximateCreationDateTime``, ``eventSourceARN``);
* a failed batch is retried from its first record (or, with ``FunctionResponseTypes:
  [ReportBatchItemFailures]``, from the first reported ``itemIdentifier`` = sequence number), split in
  halves with ``BisectBatchOnFunctionError``; after ``MaximumRetryAttempts`` retries (default: until the
  record expires, i.e. forever locally) the batch's description goes to ``DestinationConfig.OnFailure``
  (an SQS queue), as Lambda sends it, and the checkpoint moves past it;
* records every mapping has consumed are dropped from the shard (moto keeps them all otherwise).
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

LOG = logging.getLogger("infra.embedded.streams")

DEFAULT_BATCH_SIZE = 100


@dataclass
class _Mapping:
    """What a poller keeps for one event-source mapping."""

    esm: Any
    table_name: str
    checkpoint: int | None = None
    """Sequence number of the last record handed over for good (None: not positioned yet)."""
    attempts: int = 0
    batch_limit: int | None = None
    """While bisecting after a function error: the size of the half being retried."""
    in_flight: bool = False


@dataclass
class _Shard:
    """The counter and the pending records of one table's stream."""

    next_sequence: int
    held: list[Any] = field(default_factory=list)


class DynamoDbStreams:
    def __init__(self, account_id: str, region: str, retry_delay: float | None = None) -> None:
        self.account_id = account_id
        self.region = region
        self.retry_delay = 0.5 if retry_delay is None else retry_delay
        self._cond = threading.Condition()
        self._local = threading.local()
        self._shards: dict[str, _Shard] = {}
        self._mappings: dict[str, _Mapping] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._stop = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._saved: list[tuple[Any, str, Any]] = []

    # ------------------------------------------------------------------ moto patches
    def _set(self, owner: Any, name: str, value: Any) -> None:
        if name not in owner.__dict__:
            raise RuntimeError(
                f"moto internal {owner.__name__}.{name} is gone: the embedded DynamoDB Streams fill-in "
                "must be ported to this moto version"
            )
        self._saved.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, value)

    def install(self) -> None:
        """Replace moto's inline stream delivery (call after the speed-ups, whose transaction wrapper
        this wraps)."""
        import moto.dynamodb.models as ddb_models
        from moto.dynamodb.models.table import StreamRecord, StreamShard

        streams = self

        def add(shard: Any, old: Any, new: Any) -> None:
            view = shard.table.stream_specification["StreamViewType"]
            name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
            with streams._cond:
                state = streams._shard_state(shard)
                sequence = state.next_sequence
                state.next_sequence += 1
                record = StreamRecord(shard.table, view, name, old, new, sequence)
                held = getattr(streams._local, "held", None)
                if held is not None:  # inside a transaction: published when it commits
                    held.append((shard, record))
                    return
                shard.items.append(record)
                streams._cond.notify_all()

        transact = ddb_models.DynamoDBBackend.__dict__["transact_write_items"]

        def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
            outer = getattr(streams._local, "held", None)
            held: list[tuple[Any, Any]] = []
            streams._local.held = held
            try:
                transact(backend, transact_items)
            except BaseException:
                held.clear()  # cancelled: the rolled-back writes leave no records
                raise
            finally:
                streams._local.held = outer
            with streams._cond:
                for shard, record in held:
                    # moto's own rollback path may have replaced the table; the live one gets the record
                    live = backend.tables.get(shard.table.name)
                    target = live.stream_shard if live is not None and live.stream_shard else shard
                    target.items.append(record)
                streams._cond.notify_all()

        self._set(StreamShard, "add", add)
        self._set(ddb_models.DynamoDBBackend, "transact_write_items", transact_write_items)

    def uninstall(self) -> None:
        while self._saved:
            owner, name, value = self._saved.pop()
            setattr(owner, name, value)

    def _shard_state(self, shard: Any) -> _Shard:
        """Per table (moto's rollback path may replace a table, and with it the shard object)."""
        state = self._shards.get(shard.table.name)
        if state is None:
            first = int(shard.starting_sequence_number) + len(shard.items)
            state = self._shards[shard.table.name] = _Shard(next_sequence=first)
        return state

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._stop.clear()
        self._supervisor = threading.Thread(target=self._supervise, name="embedded-streams", daemon=True)
        self._supervisor.start()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        for thread in list(self._threads.values()):
            thread.join(timeout=5)
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)
        self._threads.clear()
        self._mappings.clear()

    def sync(self) -> None:
        """Start a poller for every enabled mapping on a DynamoDB stream."""
        from moto.awslambda.models import lambda_backends
        from moto.dynamodb.models import dynamodb_backends

        backend = lambda_backends[self.account_id][self.region]
        tables = dynamodb_backends[self.account_id][self.region].tables
        for uuid, esm in list(backend._event_source_mappings.items()):
            arn = str(esm.event_source_arn)
            if arn.split(":")[2] != "dynamodb" or "/stream/" not in arn or not esm.enabled:
                continue
            if uuid in self._threads or self._stop.is_set():
                continue
            table_name = arn.split(":table/", 1)[1].split("/stream/", 1)[0]
            if table_name not in tables:
                continue
            mapping = _Mapping(esm, table_name)
            self._mappings[uuid] = mapping
            thread = threading.Thread(
                target=self._poll, args=(mapping,), name=f"embedded-esm-stream-{uuid[:8]}", daemon=True
            )
            self._threads[uuid] = thread
            thread.start()

    def _supervise(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self.sync()
            except Exception:  # keep supervising
                LOG.exception("stream supervisor failed")

    # ------------------------------------------------------------------ observation
    def pending(self) -> list[str]:
        """Why a stream mapping is not done: records past its checkpoint, or a batch being processed."""
        reasons: list[str] = []
        with self._cond:
            for mapping in self._mappings.values():
                records = self._records_after(mapping)
                if mapping.in_flight:
                    reasons.append(f"a stream batch of {mapping.table_name} is being processed")
                elif records:
                    reasons.append(f"stream of {mapping.table_name} holds {len(records)} record(s)")
        return reasons

    # ------------------------------------------------------------------ polling
    def _shard(self, table_name: str) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        table = dynamodb_backends[self.account_id][self.region].tables.get(table_name)
        return None if table is None else table.stream_shard

    def _records_after(self, mapping: _Mapping) -> list[Any]:
        shard = self._shard(mapping.table_name)
        if shard is None:
            return []
        if mapping.checkpoint is None:
            if str(mapping.esm.starting_position or "TRIM_HORIZON").upper() == "LATEST":
                last = shard.items[-1].record["dynamodb"]["SequenceNumber"] if shard.items else None
                mapping.checkpoint = (
                    int(last) if last is not None else int(shard.starting_sequence_number) - 1
                )
            else:
                mapping.checkpoint = -1
        checkpoint = mapping.checkpoint
        return [r for r in shard.items if int(r.record["dynamodb"]["SequenceNumber"]) > checkpoint]

    def _trim(self, table_name: str) -> None:
        """Drop the records every mapping of the table has consumed."""
        shard = self._shard(table_name)
        mappings = [m for m in self._mappings.values() if m.table_name == table_name]
        if shard is None or not mappings or any(m.checkpoint is None for m in mappings):
            return
        done = min(int(m.checkpoint or -1) for m in mappings)
        keep = [r for r in shard.items if int(r.record["dynamodb"]["SequenceNumber"]) > done]
        if len(keep) != len(shard.items):
            shard.items[:] = keep
            if keep:
                shard.starting_sequence_number = int(keep[0].record["dynamodb"]["SequenceNumber"])

    def _poll(self, mapping: _Mapping) -> None:
        import boto3

        lam = boto3.client("lambda", region_name=self.region)
        esm = mapping.esm
        batch_size = int(esm.batch_size or DEFAULT_BATCH_SIZE)
        window = float(esm.max_batch_window or 0)
        while not self._stop.is_set() and esm.enabled:
            with self._cond:
                records = self._records_after(mapping)
                if not records:
                    self._cond.wait(1.0)
                    continue
            if window and len(records) < batch_size:
                self._stop.wait(window)
                with self._cond:
                    records = self._records_after(mapping)
            limit = min(batch_size, mapping.batch_limit or batch_size)
            batch = records[:limit]
            with self._cond:
                mapping.in_flight = True
            try:
                self._deliver(lam, mapping, batch)
            except Exception:
                LOG.exception("stream poller of %s failed; retrying", mapping.table_name)
                self._stop.wait(self.retry_delay)
            finally:
                with self._cond:
                    mapping.in_flight = False
                    self._trim(mapping.table_name)
                    self._cond.notify_all()

    def _event(self, mapping: _Mapping, batch: list[Any]) -> dict[str, Any]:
        records = []
        for item in batch:
            record = item.to_json()
            dynamodb = dict(record["dynamodb"])
            created = dynamodb.get("ApproximateCreationDateTime")
            if isinstance(created, datetime):
                dynamodb["ApproximateCreationDateTime"] = int(
                    created.replace(tzinfo=created.tzinfo or UTC).timestamp()
                )
            records.append(
                {
                    "eventID": record["eventID"],
                    "eventName": record["eventName"],
                    "eventVersion": record["eventVersion"],
                    "eventSource": "aws:dynamodb",
                    "awsRegion": self.region,
                    "dynamodb": dynamodb,
                    "eventSourceARN": mapping.esm.event_source_arn,
                }
            )
        return {"Records": records}

    def _deliver(self, lam: Any, mapping: _Mapping, batch: list[Any]) -> None:
        esm = mapping.esm
        sequences = [int(r.record["dynamodb"]["SequenceNumber"]) for r in batch]
        answer = lam.invoke(
            FunctionName=esm.function_arn, Payload=json.dumps(self._event(mapping, batch)).encode()
        )
        payload = answer["Payload"].read()
        failed_from: int | None = None
        if answer.get("FunctionError"):
            failed_from = sequences[0]
        elif "ReportBatchItemFailures" in (esm.function_response_types or []):
            failed_from = _first_failure(payload, sequences)
        if failed_from is None:
            with self._cond:
                mapping.checkpoint = sequences[-1]
                mapping.attempts = 0
                mapping.batch_limit = None
            return
        with self._cond:
            # Everything before the first failure is done; the rest is retried from there.
            done = [s for s in sequences if s < failed_from]
            if done:
                mapping.checkpoint = done[-1]
                mapping.attempts = 0
            else:
                mapping.attempts += 1
        remaining = [r for r, s in zip(batch, sequences, strict=True) if s >= failed_from]
        retries = esm.max_retry_attempts
        if retries is not None and int(retries) >= 0 and mapping.attempts > int(retries):
            self._give_up(mapping, remaining, answer)
            return
        if esm.bisect_on_error and len(remaining) > 1:
            # Split the failing part in halves until the record that fails stands alone.
            mapping.batch_limit = max(1, len(remaining) // 2)
        LOG.info("stream batch of %s failed at %s; retrying", mapping.table_name, failed_from)
        self._stop.wait(self.retry_delay)

    def _give_up(self, mapping: _Mapping, remaining: list[Any], answer: dict[str, Any]) -> None:
        """Send the batch's description to the on-failure destination and move past it (as Lambda does)."""
        import boto3

        esm = mapping.esm
        first = remaining[0].record["dynamodb"]
        last = remaining[-1].record["dynamodb"]
        destination = ((esm.destination_config or {}).get("OnFailure") or {}).get("Destination")
        if destination:
            message = {
                "requestContext": {
                    "requestId": answer.get("ResponseMetadata", {}).get("RequestId", ""),
                    "functionArn": esm.function_arn,
                    "condition": "RetryAttemptsExhausted",
                    "approximateInvokeCount": mapping.attempts,
                },
                "responseContext": {"statusCode": 200, "functionError": answer.get("FunctionError", "")},
                "version": "1.0",
                "timestamp": datetime.now(UTC).isoformat(),
                "DDBStreamBatchInfo": {
                    "shardId": self._shard(mapping.table_name).id,
                    "startSequenceNumber": first["SequenceNumber"],
                    "endSequenceNumber": last["SequenceNumber"],
                    "approximateArrivalOfFirstRecord": _iso(first.get("ApproximateCreationDateTime")),
                    "approximateArrivalOfLastRecord": _iso(last.get("ApproximateCreationDateTime")),
                    "batchSize": len(remaining),
                    "streamArn": esm.event_source_arn,
                },
            }
            sqs = boto3.client("sqs", region_name=self.region)
            url = sqs.get_queue_url(QueueName=destination.rsplit(":", 1)[-1])["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message))
        LOG.warning(
            "stream batch of %s given up after %d attempts (%s to %s)",
            mapping.table_name,
            mapping.attempts,
            first["SequenceNumber"],
            last["SequenceNumber"],
        )
        with self._cond:
            mapping.checkpoint = int(last["SequenceNumber"])
            mapping.attempts = 0
            mapping.batch_limit = None


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.replace(tzinfo=value.tzinfo or UTC).isoformat()
    return str(value or "")


def _first_failure(payload: bytes, sequences: list[int]) -> int | None:
    """Lambda's rules for a partial batch response on a stream: an empty answer or list is success; an
    unknown or malformed itemIdentifier fails the whole batch; the first failure decides where to resume."""
    text = payload.decode("utf-8", "replace").strip()
    if not text or text == "null":
        return None
    try:
        body = json.loads(text)
    except ValueError:
        return sequences[0]
    if not isinstance(body, dict):
        return sequences[0]
    items = body.get("batchItemFailures")
    if not items:
        return None
    if not isinstance(items, list):
        return sequences[0]
    known = set(sequences)
    failed: list[int] = []
    for item in items:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        try:
            number = int(str(ident))
        except ValueError:
            return sequences[0]
        if number not in known:
            return sequences[0]
        failed.append(number)
    return min(failed)
