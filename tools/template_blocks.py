"""The generated blocks of template.yaml (issue 13): the Glue tables of the finance export (from
oms.finance.schema), an Errors and a Throttles alarm for every function, the business alarms (approvals past
their SLA) and the three dashboards (operations, KPIs, finance). Each block
sits between its `# >>> <name>` and `# <<< <name>` markers.

    python -m tools.template_blocks --write   # regenerate the blocks in template.yaml
    python -m tools.template_blocks --check   # exit 1 when the template differs (a unit test runs it)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from oms.finance.schema import PARTITION, PERSONAL_PREFIX, PERSONAL_TABLES, TABLES

ROOT = Path(__file__).resolve().parents[1]
GENERATED = "(generated: python -m tools.template_blocks --write)"


def _markers(name: str) -> tuple[str, str]:
    return f"  # >>> {name} {GENERATED}\n", f"  # <<< {name}\n"


def table_logical_id(table: str, personal: bool = False) -> str:
    kind = "FinancePersonal" if personal else "Finance"
    return kind + "".join(part.capitalize() for part in table.split("_")) + "Table"


def finance_tables(template: str) -> str:
    out = []
    tables = [(t, c, False) for t, c in TABLES.items()] + [(t, c, True) for t, c in PERSONAL_TABLES.items()]
    for table, columns, personal in tables:
        database, prefix = (
            ("FinancePersonalDatabase", PERSONAL_PREFIX) if personal else ("FinanceDatabase", "exports")
        )
        out += [
            f"  {table_logical_id(table, personal)}:\n",
            "    Type: AWS::Glue::Table\n",
            "    Properties:\n",
            "      CatalogId: !Ref AWS::AccountId\n",
            f"      DatabaseName: !Ref {database}\n",
            "      TableInput:\n",
            f"        Name: {table}\n",
            "        TableType: EXTERNAL_TABLE\n",
            "        Parameters:\n",
            "          classification: parquet\n",
            '          projection.enabled: "true"\n',
            "          projection.dt.type: date\n",
            "          projection.dt.format: yyyy-MM-dd\n",
            "          projection.dt.range: 2026-01-01,NOW\n",
            '          projection.dt.interval: "1"\n',
            "          projection.dt.interval.unit: DAYS\n",
            f'          storage.location.template: !Sub "s3://${{FinanceBucket}}/{prefix}/{table}/dt=${{!dt}}/"\n',
            "        PartitionKeys:\n",
            f'          - {{ Name: {PARTITION.name}, Type: "{PARTITION.type}" }}\n',
            "        StorageDescriptor:\n",
            f'          Location: !Sub "s3://${{FinanceBucket}}/{prefix}/{table}/"\n',
            "          InputFormat: org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat\n",
            "          OutputFormat: org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat\n",
            "          SerdeInfo:\n",
            "            SerializationLibrary: org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe\n",
            "          Columns:\n",
        ]
        out += [f'            - {{ Name: {c.name}, Type: "{c.type}" }}\n' for c in columns]
        out.append("\n")
    return "".join(out)


def function_ids(template: str) -> list[str]:
    return sorted(re.findall(r"^  ([A-Za-z0-9]+):\n    Type: AWS::Serverless::Function$", template, re.M))


def dlq_ids(template: str) -> list[str]:
    return sorted(re.findall(r"^  ([A-Za-z0-9]+DLQ):\n    Type: AWS::SQS::Queue$", template, re.M))


def function_alarms(template: str) -> str:
    out = []
    for function in function_ids(template):
        for metric, what in (("Errors", "failed"), ("Throttles", "was throttled")):
            out += [
                f"  {function}{metric}Alarm:\n",
                "    Type: AWS::CloudWatch::Alarm\n",
                "    Properties:\n",
                f"      AlarmDescription: {function} {what} (see the operations dashboard and its logs).\n",
                "      Namespace: AWS/Lambda\n",
                f"      MetricName: {metric}\n",
                f"      Dimensions: [{{ Name: FunctionName, Value: !Ref {function} }}]\n",
                "      Statistic: Sum\n",
                "      Period: 300\n",
                "      EvaluationPeriods: 1\n",
                "      Threshold: 0\n",
                "      ComparisonOperator: GreaterThanThreshold\n",
                "      TreatMissingData: notBreaching\n",
                "      AlarmActions: [!Ref AlarmTopic]\n",
                "\n",
            ]
    return "".join(out)


def _widget(title: str, metrics: list[list[object]], x: int, y: int, stat: str = "Sum") -> dict[str, object]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": "${AWS::Region}",
            "stat": stat,
            "period": 300,
            "view": "timeSeries",
            "metrics": metrics,
        },
    }


def _search_widget(
    title: str, searches: list[tuple[str, str]], x: int, y: int, stat: str = "Maximum", period: int = 86400
) -> dict[str, object]:
    """A widget of SEARCH expressions: one line per value of a dimension (currency, bucket, kind) that the
    metrics carry, whatever values the policy or the registry has."""
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": "${AWS::Region}",
            "period": period,
            "view": "timeSeries",
            "metrics": [
                [
                    {"expression": f"SEARCH('{query}', '{stat}', {period})", "id": f"e{n}"}
                    | ({"label": label} if label else {})
                ]
                for n, (query, label) in enumerate(searches, start=1)
            ],
        },
    }


def finance_widgets() -> list[dict[str, object]]:
    export = '{ServerlessOMS,currency,service} service="finance-export"'
    return [
        _search_widget(
            "Receivables aging by bucket (latest export, per currency)",
            [('{ServerlessOMS,bucket,currency,service} MetricName="AgingOutstanding"', "")],
            0,
            0,
        ),
        _widget(
            "DSO, days (standard 30-day and countback; the currency with most outstanding)",
            [
                ["ServerlessOMS", m, "service", "finance-export"]
                for m in ("DaysSalesOutstanding", "DaysSalesOutstandingCountback")
            ],
            12,
            0,
            "Maximum",
        ),
        _search_widget(
            "Cash received and applied per day, per currency",
            [
                (f'{export} MetricName="PaymentsReceived"', ""),
                (f'{export} MetricName="CashApplied"', ""),
                (f'{export} MetricName="CreditApplied"', ""),
            ],
            0,
            6,
        ),
        _search_widget(
            "Unapplied: customers' unapplied credit, and UNAPPLIED_CASH exceptions open",
            [
                (f'{export} MetricName="UnappliedCredit"', ""),
                (
                    '{ServerlessOMS,kind,service} MetricName="ReconciliationExceptionsOpenByKind" '
                    'kind="UNAPPLIED_CASH"',
                    "",
                ),
            ],
            12,
            6,
        ),
        _search_widget(
            "Reconciliation exceptions open, by type",
            [('{ServerlessOMS,kind,service} MetricName="ReconciliationExceptionsOpenByKind"', "")],
            0,
            12,
        ),
        _widget(
            "Approvals past their SLA (escalated or expired)",
            [
                ["ServerlessOMS", m, "service", "approval-workflow"]
                for m in ("ApprovalSlaBreaches", "ApprovalsExpired")
            ],
            12,
            12,
        ),
    ]


BUSINESS_ALARMS = (
    (
        "ApprovalSlaBreachesAlarm",
        "An approval level passed its SLA without a decision (escalated or expired) - see GET /approvals and "
        "the finance dashboard.",
        "ApprovalSlaBreaches",
        "approval-workflow",
        300,
    ),
)


def business_alarms(template: str) -> str:
    out = []
    for logical, description, metric, service, period in BUSINESS_ALARMS:
        out += [
            f"  {logical}:\n",
            "    Type: AWS::CloudWatch::Alarm\n",
            "    Properties:\n",
            f"      AlarmDescription: {description}\n",
            "      Namespace: ServerlessOMS\n",
            f"      MetricName: {metric}\n",
            f"      Dimensions: [{{ Name: service, Value: {service} }}]\n",
            "      Statistic: Sum\n",
            f"      Period: {period}\n",
            "      EvaluationPeriods: 1\n",
            "      Threshold: 0\n",
            "      ComparisonOperator: GreaterThanThreshold\n",
            "      TreatMissingData: notBreaching\n",
            "      AlarmActions: [!Ref AlarmTopic]\n",
            "\n",
        ]
    return "".join(out)


def dashboards(template: str) -> str:
    functions = function_ids(template)
    dlqs = dlq_ids(template)
    workflows = ["OrderWorkflow", "ReconciliationWorkflow"]
    operations = [
        _widget(
            "Messages waiting in the DLQs",
            [
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", f"${{{q}.QueueName}}"]
                for q in dlqs
            ],
            0,
            0,
            "Maximum",
        ),
        _widget(
            "Workflow executions failed / timed out",
            [
                ["AWS/States", metric, "StateMachineArn", f"${{{w}}}"]
                for w in workflows
                for metric in ("ExecutionsFailed", "ExecutionsTimedOut")
            ],
            12,
            0,
        ),
        _widget(
            "Lambda errors",
            [["AWS/Lambda", "Errors", "FunctionName", f"${{{f}}}"] for f in functions],
            0,
            6,
        ),
        _widget(
            "Lambda throttles",
            [["AWS/Lambda", "Throttles", "FunctionName", f"${{{f}}}"] for f in functions],
            12,
            6,
        ),
        _widget(
            "Reconciliation exceptions: open, past their SLA, escalated",
            [
                ["ServerlessOMS", metric, "service", "reconcile-finish"]
                for metric in (
                    "ReconciliationExceptionsOpen",
                    "ReconciliationExceptionsPastSla",
                    "ReconciliationExceptionsEscalated",
                )
            ],
            0,
            12,
            "Maximum",
        ),
        _widget(
            "Orders received, invoiced, held, failed",
            [
                ["ServerlessOMS", m, "service", s]
                for m, s in (
                    ("OrdersReceived", "order-intake"),
                    ("OrdersInvoiced", "invoice"),
                    ("OrdersHeld", "validate"),
                    ("OrdersBackordered", "allocate"),
                )
            ],
            12,
            12,
        ),
    ]
    kpi = [
        _widget(
            "Order cycle time (placed to delivered), seconds",
            [
                ["ServerlessOMS", m, "service", "finance-export"]
                for m in ("OrderCycleTimeP50", "OrderCycleTimeP90")
            ],
            0,
            0,
            "Maximum",
        ),
        _widget(
            "Perfect orders, %: product of rates and all criteria met",
            [
                ["ServerlessOMS", m, "service", "finance-export"]
                for m in ("PerfectOrderRateProduct", "PerfectOrderRateAllCriteria")
            ],
            12,
            0,
            "Maximum",
        ),
        _widget(
            "Invoice accuracy, on-time shipment, fill rate, %",
            [
                ["ServerlessOMS", m, "service", "finance-export"]
                for m in ("InvoiceAccuracy", "OnTimeShipment", "FillRate")
            ],
            0,
            6,
            "Maximum",
        ),
        _widget(
            "Gross margin, % of net revenue",
            [["ServerlessOMS", "GrossMarginPct", "service", "finance-export"]],
            12,
            6,
            "Maximum",
        ),
    ]
    out = []
    for logical, name, widgets in (
        ("OperationsDashboard", "operations", operations),
        ("KpiDashboard", "kpis", kpi),
        ("FinanceDashboard", "finance", finance_widgets()),
    ):
        body = json.dumps({"widgets": widgets}, indent=1, sort_keys=True)
        out += [
            f"  {logical}:\n",
            "    Type: AWS::CloudWatch::Dashboard\n",
            "    Properties:\n",
            f'      DashboardName: !Sub "${{AWS::StackName}}-{name}"\n',
            "      DashboardBody: !Sub |\n",
        ]
        out += [f"        {line}\n" for line in body.splitlines()]
        out.append("\n")
    return "".join(out)


BLOCKS: dict[str, Callable[[str], str]] = {
    "finance tables": finance_tables,
    "function alarms": function_alarms,
    "business alarms": business_alarms,
    "dashboards": dashboards,
}


def render(template: str) -> str:
    for name, make in BLOCKS.items():
        start, end = _markers(name)
        if start not in template or end not in template:
            raise SystemExit(f"template.yaml has no markers for the {name} block")
        head, rest = template.split(start, 1)
        _, tail = rest.split(end, 1)
        template = head + start + make(head + tail) + end + tail
    return template


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    path = ROOT / "template.yaml"
    current = path.read_text()
    wanted = render(current)
    if args.check:
        if wanted != current:
            print("template.yaml's generated blocks are stale: python -m tools.template_blocks --write")
            return 1
        return 0
    if args.write:
        path.write_text(wanted)
        return 0
    sys.stdout.write(wanted)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
