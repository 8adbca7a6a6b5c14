"""TensorFlow's graph-mode entry points, for a library that only runs eagerly.

``@wg.function`` returns the function unchanged, so TensorFlow code that decorates its
training step runs as it is (eagerly: no tracing, no graph, no speed-up);
``wg.executing_eagerly()`` is always True.
"""

from __future__ import annotations

__all__ = ["function", "executing_eagerly"]


def function(func=None, **kwargs):
    """``tf.function`` accepted and ignored: ``func`` itself, run eagerly.

    Example:
        >>> import wengert as wg
        >>> @wg.function(jit_compile=True)
        ... def double(x):
        ...     return x * 2.0
        >>> double(wg.constant(3.0)).numpy()
        np.float32(6.0)
    """
    if func is None:
        return lambda f: f
    return func


def executing_eagerly() -> bool:
    """Always True: wengert has no graph mode.

    Example:
        >>> import wengert as wg
        >>> wg.executing_eagerly()
        True
    """
    return True
