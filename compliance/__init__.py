"""The verdict on every expense: policy data (负面清单 and budget rules), the engine and its service."""
