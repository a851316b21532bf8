"""Demo data for a city shaped like 丽水 (Lishui): regions, units, people and the matter catalogue."""
