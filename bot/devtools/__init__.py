"""Developer tools: run the real servers locally for tests and benchmarks."""
