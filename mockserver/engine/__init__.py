"""The engine: `TaskEngine` (core, namespace settings, uploads, tasks) and the data it keeps. No HTTP here."""
