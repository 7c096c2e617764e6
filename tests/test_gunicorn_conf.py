"""The production server settings (gunicorn.conf.py)."""

import gc
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


def test_the_master_freezes_what_it_loaded_before_forking_a_worker():
    settings = runpy.run_path(str(CONF))
    assert settings["preload_app"] is True  # the app is loaded in the master, so there is something to freeze
    gc.unfreeze()
    try:
        settings["pre_fork"](server=None, worker=None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
