"""Evaluation: fresh-episode harness and the statistics behind reported figures."""
