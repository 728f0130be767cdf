"""A Jinja2 sandbox with bounded work, for staff-uploaded layouts (issue 10).

Jinja's sandbox stops attribute tricks but not work: ``{% for a in range(99999) %}{% for b
in range(99999) %}`` runs for hours and ``{{ "x" * 10**10 }}`` asks for 10 GB. Here every
``for`` loop draws on one budget of iterations per render, checked against a deadline;
operators, ``~`` and filters refuse results larger than any email. Exceeding a bound
raises ``SecurityError``, which the renderer turns into a refusal naming the limit.
"""

from __future__ import annotations

import contextvars
import functools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment, SecurityError

MAX_LOOP_ITERATIONS = 100_000   # all loops of one render together; the seed issue uses ~100
MAX_RENDER_SECONDS = 5.0
MAX_VALUE_CHARS = 2_000_000     # any string or list a template builds (an email is < 102 KB)
MAX_NUMBER_ARGUMENT = 100_000   # widths, counts and exponents given to operators and filters


@dataclass
class _Budget:
    iterations: int = MAX_LOOP_ITERATIONS
    deadline: float = 0.0


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("jinja_budget",
                                                                         default=None)


def _too_large(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return value.bit_length() > 4 * MAX_NUMBER_ARGUMENT.bit_length() * 64
    return isinstance(value, str | list | tuple) and len(value) > MAX_VALUE_CHARS


def _refuse_large(value: Any, what: str) -> Any:
    if _too_large(value):
        raise SecurityError(f"{what} builds a value of more than {MAX_VALUE_CHARS:,} "
                            "characters, far more than any email")
    return value


class _BoundedCodeGenerator(CodeGenerator):
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.value_checked(")
        super().visit_Concat(node, frame)
        self.write(")")


class BoundedEnvironment(SandboxedEnvironment):
    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _filter_checked(name, f) for name, f in self.filters.items()}

    def _generate(self, source: nodes.Template, name: str | None, filename: str | None,
                  defer_init: bool = False) -> str:
        # Every loop's iterable goes through ``loop_budget``; an attribute of the
        # environment, so no template variable can shadow it.
        for loop in source.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.EnvironmentAttribute("loop_budget"), [loop.iter], [],
                                   None, None, lineno=loop.lineno)
        return super()._generate(source, name, filename, defer_init=defer_init)

    def loop_budget(self, iterable: Iterable[Any]) -> Iterator[Any]:
        budget = _BUDGET.get() or _Budget(deadline=time.monotonic() + MAX_RENDER_SECONDS)
        for item in iterable:
            budget.iterations -= 1
            if budget.iterations < 0:
                raise SecurityError(f"the template's loops run more than "
                                    f"{MAX_LOOP_ITERATIONS:,} times in one render")
            if time.monotonic() > budget.deadline:
                raise SecurityError(f"the template ran longer than {MAX_RENDER_SECONDS:g} "
                                    "seconds")
            yield item

    def value_checked(self, value: Any) -> Any:
        return _refuse_large(value, "joining with ~")

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        numbers = [v for v in (left, right) if isinstance(v, int | float)]
        if operator in ("*", "**") and any(abs(n) > MAX_NUMBER_ARGUMENT for n in numbers) \
                and not all(isinstance(v, int | float) for v in (left, right)):
            raise SecurityError(f"{operator!r} with {max(numbers, key=abs)} would build a value "
                                "far larger than any email")
        if operator == "*" and isinstance(left, str | list | tuple) != isinstance(right, str | list | tuple):
            sequence, count = (left, right) if isinstance(left, str | list | tuple) else (right, left)
            if isinstance(count, int) and len(sequence) * count > MAX_VALUE_CHARS:
                raise SecurityError("repeating a value with '*' would build more than "
                                    f"{MAX_VALUE_CHARS:,} characters")
        if operator == "**" and isinstance(right, int | float) and abs(right) > 64:
            raise SecurityError(f"'**' with an exponent of {right} is refused (the limit is 64)")
        if operator == "%" and isinstance(left, str) and re.search(r"%[-+ #0]*\d{6,}", left):
            raise SecurityError("a format width above 99,999 is refused")
        return _refuse_large(super().call_binop(context, operator, left, right),
                             f"the operator {operator!r}")


def _filter_checked(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)  # keeps Jinja's pass_context/pass_eval_context marker
    def checked(*args: Any, **kwargs: Any) -> Any:
        for value in (*args, *kwargs.values()):
            if isinstance(value, int) and not isinstance(value, bool) \
                    and abs(value) > MAX_NUMBER_ARGUMENT:
                raise SecurityError(f"the filter '{name}' was given {value}; numbers above "
                                    f"{MAX_NUMBER_ARGUMENT:,} are refused")
        return _refuse_large(func(*args, **kwargs), f"the filter '{name}'")

    return checked


def bounded_render(render: Callable[[Mapping[str, Any]], str], context: Mapping[str, Any]) -> str:
    """``render(context)`` with a fresh loop budget and deadline for this render."""
    token = _BUDGET.set(_Budget(deadline=time.monotonic() + MAX_RENDER_SECONDS))
    try:
        return render(context)
    except (RecursionError, MemoryError):
        raise SecurityError("the template calls itself too deeply or asks for too much "
                            "memory") from None
    finally:
        _BUDGET.reset(token)
