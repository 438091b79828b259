"""The dependency audit (``make audit``): audit/gate.py."""
