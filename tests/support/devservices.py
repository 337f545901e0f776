"""``scripts/devservices.py`` imported as a module, one instance for every test that needs it."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from tests.support.paths import REPO

SCRIPT = REPO / "scripts" / "devservices.py"


def load_devservices() -> ModuleType:
    name = "trendfolio_devservices"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
