"""fabnet: plan and simulate the semiconductor supply network behind AI chips."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fabnet.errors import FabnetError, Problem

try:
    __version__ = version("fabnet")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["FabnetError", "Problem", "__version__"]
