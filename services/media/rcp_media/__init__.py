"""The media service: it renders TTS and ingests uploaded prompts, and serves them to Asterisk."""
