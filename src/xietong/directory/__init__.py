"""Units and people library (单位库/人员库): regions, the unit tree, people, posts, delegation."""
