"""Cash: payments from every source applied to invoices, credit notes, returns and refunds (issue 12).

`ledger` holds the rules of the application ledger (pure); `receivables` the reports over it (aging, DSO,
lateness, the cash forecast); `statements` and `matching` read bank statements and match their credits;
`service` is the logic the handlers call, `oms.data.cash` the data layer it commits through.
"""
