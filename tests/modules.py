"""Every module of dockerarch and its rule pack, imported: for tests that look at all of them."""

from __future__ import annotations

import importlib
import pkgutil
import types

import dockerarch_rules

import dockerarch


def every_module() -> list[types.ModuleType]:
    found = []
    for package in (dockerarch, dockerarch_rules):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if info.name.endswith("__main__"):
                continue  # it runs the command
            found.append(importlib.import_module(info.name))
    return found
