"""Reports for auditors and the finance bureau: ledger verification, exports, compliance figures."""
