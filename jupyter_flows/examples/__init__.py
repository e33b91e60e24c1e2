"""Example flows shared by the demo, the tests and the tutorial notebooks."""
