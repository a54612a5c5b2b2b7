"""seqforge-labelled: classification, tagging and one-to-many generation for seqforge (see plugin.py)."""
