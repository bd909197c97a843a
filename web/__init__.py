"""The HTTP face of residesk (`residesk serve`): Telegram's webhook, health checks, metrics;
the office console and an API will come here too, behind the same tickets/ gate."""
