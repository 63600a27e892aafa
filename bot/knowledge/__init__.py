"""The agency's documents as a searchable knowledge base.

ingest (documents.py: read files) -> chunk (chunking.py: passages) -> embed
(embedder.py: MiniLM) -> index (index.py: FAISS + BM25 per collection, swapped atomically)
-> search (search.py: dense, lexical or hybrid) -> answer (answers.py: short sourced reply).
"""
