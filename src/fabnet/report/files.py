"""Writing a report file: all at once, with the usual file mode."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from fabnet.errors import FabnetError, Problem


def write_report(path: str | Path, html: str) -> Path:
    """Write ``html`` to ``path`` via a temporary file and a rename; the path written.

    A reader (a browser reloading the page) never sees half a report, a failed write
    leaves no temporary file, and the file gets the mode of any new file (0666 less the
    umask) rather than mkstemp's private 0600. Missing parent folders are created.
    """
    target = Path(path)
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise FabnetError(
            Problem(
                f"cannot write the report: {exc.strerror or exc}",
                hint="choose another file with -o PATH",
                file=str(target),
            )
        ) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return target
