"""全流程监控分析: figures, rankings, cards, bottlenecks and drill-downs over cases, with .xlsx and bulletins."""
