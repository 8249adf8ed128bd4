"""Test fakes: only the network boundary is faked (see openai_server.FakeOpenAI)."""
