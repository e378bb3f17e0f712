"""No module holds an exception instance to raise again and again.

Python appends each raise's frames to the exception's traceback, so one shared instance raised on every refused
request (an unknown key, a trust policy that says no) grows for ever and keeps every such request's frames and data
alive: a server that anyone can make run out of memory without credentials. Each raise must build a new error."""

from __future__ import annotations

import importlib
import pkgutil

import samlfed


def _modules() -> list[str]:
    names = [info.name for info in pkgutil.walk_packages(samlfed.__path__, "samlfed.")]
    # Alembic's migration scripts run only inside Alembic (env.py needs its context).
    return [name for name in names if ".migrations." not in name and not name.endswith(".migrations")]


def test_every_module_is_seen() -> None:
    names = _modules()
    assert {"samlfed.api.auth", "samlfed.sts.assume", "samlfed.saml.response"} <= set(names)


def test_no_module_keeps_an_exception_instance() -> None:
    shared = []
    for name in _modules():
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if isinstance(value, BaseException):
                shared.append(f"{name}.{attribute}")
    assert shared == []
