"""The provincial service platform (省政务服务平台): every case reported incrementally in the national 办件
exchange tables — acceptance, each step, special procedures, conclusion and rating — in order per case, with
acknowledgements, retries and a reconciliation of what the platform has not confirmed. ``docs/province.md``."""
