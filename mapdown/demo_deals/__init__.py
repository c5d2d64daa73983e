"""The example deals in deals/, packaged as the final state of `mapdown demo` (kept byte-identical
by tests/test_demo.py)."""
