"""Embedding answers: the embedders, vector arithmetic, and the ``embeddings`` table."""
