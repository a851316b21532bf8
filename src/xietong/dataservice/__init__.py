"""The data service (数据服务): application clients, idempotency and rate limits, the change feed, exports, webhooks."""
