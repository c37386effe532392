"""Tests parametrized by what the config under test holds: one helper for every suite."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import pytest

from obsgate.applicability import placeholder
from obsgate.config import ObsConfig
from obsgate.errors import GateError
from obsgate.options import config_dir

T = TypeVar("T")


def parametrize_from_config(
    metafunc: pytest.Metafunc,
    argname: str,
    load: Callable[[ObsConfig], Iterable[T]],
    *,
    id_of: Callable[[T], str],
    marks_of: Callable[[T], Sequence[Any]] | None = None,
) -> None:
    """Parametrize `argname`, if the test asks for it, with what `load` reads from the
    config dir under test: one test per item, named by `id_of`. A config that cannot be
    read stops the run in one line naming its file, before any test runs; a config without
    what the test needs gives it one placeholder (it is reported as not applicable)."""
    if argname not in metafunc.fixturenames or placeholder(metafunc, argname):
        return
    try:
        values = list(load(ObsConfig(config_dir(metafunc.config))))
    except GateError as exc:
        raise pytest.UsageError(str(exc)) from None
    params = [
        pytest.param(value, id=id_of(value), marks=marks_of(value) if marks_of else ())
        for value in values
    ]
    metafunc.parametrize(argname, params)
