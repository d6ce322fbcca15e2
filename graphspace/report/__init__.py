"""What a store shows: its tables (run, info, report), the report's figures, and report.md."""

from graphspace.report.document import report_folder, write_report
from graphspace.report.tables import Section, sections

__all__ = ["Section", "report_folder", "sections", "write_report"]
