"""Helpers shared by more than one test file (and by the scripts under tests/benchmarks and
tests/gpu_check), each written once. Fixtures stay in conftest.py files; fakes of outside systems
are in tests/fakes.

- processes: a free loopback port, the processes below a pid or below this test
- engines: the fake ``vllm`` executable (tests/fakes/fake_vllm.py behind a wrapper)
- real_vllm: the real-vLLM tier's settings, manager and process lookups
- app: building the app (or a sidebar-only app) for Pilot and driving it
- streams: LLM wire bodies (OpenAI SSE, Ollama NDJSON) and a body in pieces
- history: a sample conversation for the store's tests
- term: a2ia-cli on a real pseudo-terminal
- tools: MCP server configs for the toy fake server
- serving: a real ``a2ia-tui serve`` in front of the fake LLM server
- markdown_texts: random Markdown that trips block cutters
"""
