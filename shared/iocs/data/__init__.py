"""Bundled data files: the Public Suffix List snapshot (MPL 2.0, version in its header)."""
