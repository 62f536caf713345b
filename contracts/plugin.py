"""pytest plugin: fixtures that put the mock, its clock and a callback receiver one argument away."""

from __future__ import annotations
