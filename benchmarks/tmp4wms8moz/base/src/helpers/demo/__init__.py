"""The seeded demo export (``segreview demo-data``) and simulators with known parameters."""
