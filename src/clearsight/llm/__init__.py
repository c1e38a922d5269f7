"""LLM security: an offline prompt-injection detector and a red-team runner for LLM endpoints."""
