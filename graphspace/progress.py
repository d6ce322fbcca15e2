"""How the pipeline reports progress: `progress(stage, done, total, detail)`.

zoo counts models, graphs counts checkpoints, learn counts optimizer steps (detail: the latest loss terms).
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, int, str], None]
