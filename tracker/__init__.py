"""Treaty deadline tracker: agreements as YAML, exact deadlines, durable reminders."""

__version__ = "0.1.0"
