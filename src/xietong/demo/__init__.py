"""The demo city shaped like 丽水 (Lishui): its data (city, catalogue) and the loader that builds it, with history."""
