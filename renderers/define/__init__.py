"""Define-XML 2.1 from the study metadata."""

from renderers.define.writer import DefineOptions, write_define

__all__ = ["DefineOptions", "write_define"]
