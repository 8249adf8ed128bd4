"""Lectern's errors: each message is written for the person at the keyboard, not for a traceback."""

from __future__ import annotations


class LecternError(Exception):
    """Base of every error Lectern raises on purpose. `exit_code` is what the CLI returns."""

    exit_code = 1


class ConfigError(LecternError):
    exit_code = 2


class InputError(LecternError):
    """Input that cannot be ingested: names the source, and the line or row when there is one."""

    def __init__(self, source: str, reason: str, line: int = 0) -> None:
        where = f"{source}, line {line}" if line else source
        super().__init__(f"{where}: {reason}")
        self.source = source
        self.line = line
        self.reason = reason


class DependencyError(LecternError):
    """An optional package or bundled model is missing."""


class StoreError(LecternError):
    """The vector store cannot be opened or reached."""


class StoreLockedError(StoreError):
    """Another process is writing to the same embedded store."""


class ModelMismatchError(StoreError):
    """The collection was built with another embedding model than the one configured."""


class LLMError(LecternError):
    """The language model failed: down, rate-limited, timed out or answered garbage."""
