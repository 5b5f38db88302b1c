"""Models on disk and on servers: the Hugging Face hub cache, Ollama's model store."""
