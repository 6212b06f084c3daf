"""The stasis service: it drives calls through Asterisk ARI."""
