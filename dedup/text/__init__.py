"""Text to tokens and stable hashes: normalization, tokenization, UTF-8 walking and HTML extraction.

Shared by the near-duplicate engine and the content-farm scorer; knows nothing of files or documents.
"""
