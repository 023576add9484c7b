"""Validation: check the data against the shapes with pySHACL and report where each problem is."""
