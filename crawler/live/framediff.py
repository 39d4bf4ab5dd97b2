"""Frame comparison now lives in ``vision.framediff`` (pure image code, shared with ``splashaudit
timeline``); this name stays for the live check's modules."""

from vision.framediff import (CELL_CHANGE, CELL_PX, SAME_SCREEN_MAX_CHANGED, blend_share, cell_changes, changed,  # noqa: F401
                              region, region_distance, same_screen, thumbnail, thumbnail_of)
