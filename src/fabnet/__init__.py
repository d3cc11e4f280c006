"""fabnet: plan and simulate the semiconductor supply network behind AI chips."""

from __future__ import annotations

from fabnet.errors import FabnetError, Problem

__all__ = ["FabnetError", "Problem", "__version__"]


def __getattr__(name: str) -> str:
    """``fabnet.__version__``, read from the installed package's metadata when first asked
    for: importing :mod:`importlib.metadata` costs about 60 ms of every command's start-up."""
    if name != "__version__":
        raise AttributeError(f"module 'fabnet' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        value = version("fabnet")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        value = "0.0.0+unknown"
    globals()["__version__"] = value
    return value
