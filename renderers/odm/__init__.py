"""ODM 1.3.2 export: the streaming writer."""

from renderers.odm.writer import ExportStats, OdmExportOptions, OdmWriter, write_odm

__all__ = ["ExportStats", "OdmExportOptions", "OdmWriter", "write_odm"]
